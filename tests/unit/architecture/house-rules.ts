/**
 * The house's rules (docs/architecture.md) as data, and the check that reads every import of main/,
 * renderer/ and electron/ against them. Each rule has the name a person reads in the failure.
 */
import path from 'node:path';

/** The folders of main/, bottom first, and what each may import of the project. */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  base: [],
  engine: ['base'],
  data: ['base'],
  runs: ['base'],
  models: ['base', 'engine'],
  gabn: ['base', 'engine', 'models'],
  eval: ['base', 'engine', 'data', 'models'],
  report: ['base', 'eval'],
  usecases: ['base', 'engine', 'data', 'runs', 'models', 'gabn', 'eval', 'report'],
  jobs: ['base', 'engine', 'data', 'runs', 'models', 'gabn', 'eval', 'report', 'usecases', 'api/contract.ts'],
  api: ['base', 'engine', 'data', 'runs', 'models', 'gabn', 'eval', 'report', 'usecases', 'jobs'],
  cli: ['base', 'engine', 'data', 'runs', 'models', 'gabn', 'eval', 'report', 'usecases', 'jobs', 'api'],
};

export interface Import {
  /** As written: '../gabn/gam.ts', 'electron'. */
  readonly specifier: string;
  /** `import type` / `export type`: erased at build time. */
  readonly typeOnly: boolean;
  readonly line: number;
}

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly rule: string;
}

const IMPORT =
  /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import and re-export of a source file (TypeScript, or the script of a .vue file). */
export function importsOf(source: string): Import[] {
  const found: Import[] = [];
  for (const m of source.matchAll(IMPORT)) {
    const specifier = m[3] ?? m[4]!;
    const line = source.slice(0, m.index + m[0].indexOf(specifier)).split('\n').length;
    found.push({ specifier, typeOnly: m[2] !== undefined, line });
  }
  return found;
}

/** The folder of main/ a project path belongs to ('gabn', 'api'), or the top folder outside main/. */
function place(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'main') return parts[0]!;
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/\.ts$/, '');
}

const RULE_FOR_LAYER: Readonly<Record<string, string>> = {
  base: 'base imports nothing of the project',
  engine: 'engine knows no model (it imports only base)',
  data: 'data knows no model (it imports only base)',
  runs: 'runs imports only base',
  models: 'models know no training (they import base and engine)',
  gabn: 'gabn holds the paper alone (it imports base, engine and models)',
  eval: 'eval knows no training method (no gabn, no use case)',
  report: 'report imports base and eval only',
  usecases: 'use cases sit below jobs, api and cli',
  jobs: 'jobs sit below api and cli (they may read the contract)',
  api: 'api sits below cli',
  cli: 'nothing imports cli; cli imports everything but electron',
};

/** The rule an import from `file` to `target` (both project paths) breaks, if any. */
function brokenRule(file: string, target: string, typeOnly: boolean): string | undefined {
  const from = place(file);
  const to = place(target);
  if (from === 'renderer') {
    if (target.startsWith('renderer/') || target.startsWith('resources/')) return undefined;
    return target === 'main/api/contract.ts' && typeOnly
      ? undefined
      : 'the renderer imports only types from the API contract';
  }
  if (to === 'cli' || target === 'main/cli.ts') return from === 'cli' ? undefined : 'nothing imports cli';
  if (from === 'electron')
    return to === 'electron' || target.startsWith('main/') ? undefined : 'electron imports main/ only';
  if (!file.startsWith('main/') || from === to || from === 'cli') return undefined;
  const allowed = LAYERS[from];
  if (allowed === undefined) return `every file of main/ lives in a layer of the house (${from} is none)`;
  if (allowed.includes(to) || allowed.includes(path.posix.relative('main', target))) return undefined;
  return RULE_FOR_LAYER[from];
}

/** Checks files given as project-relative paths with their sources. */
export function checkHouse(files: readonly { path: string; source: string }[]): Violation[] {
  const violations: Violation[] = [];
  for (const { path: file, source } of files) {
    for (const imp of importsOf(source)) {
      if (imp.specifier === 'electron' || imp.specifier.startsWith('electron/')) {
        if (place(file) !== 'electron')
          violations.push({
            file,
            line: imp.line,
            specifier: imp.specifier,
            rule: 'only electron/ imports electron',
          });
        continue;
      }
      if (!imp.specifier.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), imp.specifier));
      const rule = brokenRule(file, target, imp.typeOnly);
      if (rule !== undefined) violations.push({ file, line: imp.line, specifier: imp.specifier, rule });
    }
  }
  return violations;
}
