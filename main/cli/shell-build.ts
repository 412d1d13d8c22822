/**
 * The desktop app runs compiled JavaScript, never TypeScript: its entries are bundled with esbuild
 * into dist-electron/ (`npm run build:electron`; `gabn start` and `npm run dist` do it when a source
 * is newer). Four bundles, one per process kind:
 *   main.mjs          the Electron shell (electron/main.ts)
 *   preload.cjs       the sandboxed preload: one CommonJS file that requires only 'electron'
 *   service-host.mjs  the service's process (main/api/service-host.ts)
 *   worker.mjs        a job's worker process (main/jobs/worker.ts)
 * Packages stay outside the bundles (node_modules ships beside them, native addons unpacked from the
 * asar). Inside a bundle every module still finds its files where it did in the source tree: each
 * `import.meta.url` is rewritten to the URL its source file would have, relative to the bundle
 * (resources/, renderer/dist, package.json ship at the same places), and the banner tells
 * main/base/bundle.ts where the bundles are, so child processes start from them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_FOLDER_GLOBAL } from '../base/bundle.ts';
import { GabnError } from '../base/errors.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHELL_DIST = path.join(PROJECT_ROOT, 'dist-electron');

/** Bundle name → source entry, relative to the project root. */
export const SHELL_ENTRIES = {
  'main.mjs': 'electron/main.ts',
  'preload.cjs': 'electron/preload.ts',
  'service-host.mjs': 'main/api/service-host.ts',
  'worker.mjs': 'main/jobs/worker.ts',
} as const;

const SOURCES = ['main', 'electron', 'package.json'];

function newestMtime(target: string): number {
  const info = statSync(target);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const name of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, name)));
  return newest;
}

/** Why the shell needs a build, or undefined when dist-electron is up to date. */
export function shellBuildReason(outdir = SHELL_DIST): string | undefined {
  const built = Object.keys(SHELL_ENTRIES).map((name) => path.join(outdir, name));
  const missing = built.find((file) => !existsSync(file));
  if (missing !== undefined) return `${missing} is missing`;
  const oldest = Math.min(...built.map((file) => statSync(file).mtimeMs));
  const newest = Math.max(...SOURCES.map((s) => newestMtime(path.join(PROJECT_ROOT, s))));
  return newest > oldest ? 'a source is newer than the build' : undefined;
}

type Esbuild = typeof import('esbuild');

/** esbuild plugin: every import.meta.url of a project source becomes the URL of that source file. */
function sourceLocations(outdir: string): import('esbuild').Plugin {
  return {
    name: 'gabn-source-locations',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const relative = path.relative(outdir, args.path).split(path.sep).join('/');
        const source = readFileSync(args.path, 'utf8');
        return {
          contents: source.replaceAll(
            'import.meta.url',
            `new URL(${JSON.stringify(relative)}, import.meta.url).href`,
          ),
          loader: 'ts',
        };
      });
    },
  };
}

/** Bundles the four entries into `outdir`; returns the files written. */
export async function buildShell(outdir = SHELL_DIST): Promise<string[]> {
  let esbuild: Esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new GabnError('missing-file', 'cannot build the desktop app: esbuild is not installed', {
      expected: "the project's dev dependencies ('npm ci')",
      cause: error,
    });
  }
  const common = {
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  } as const;
  const modules = Object.entries(SHELL_ENTRIES).filter(([name]) => name.endsWith('.mjs'));
  await esbuild.build({
    ...common,
    entryPoints: Object.fromEntries(modules.map(([name, source]) => [name.replace(/\.mjs$/, ''), source])),
    outdir,
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    packages: 'external',
    banner: { js: `globalThis.${BUNDLE_FOLDER_GLOBAL} = new URL('.', import.meta.url).href;` },
    plugins: [sourceLocations(outdir)],
  });
  // The sandboxed preload may require 'electron' and nothing else: everything else is inlined.
  await esbuild.build({
    ...common,
    entryPoints: [SHELL_ENTRIES['preload.cjs']],
    outfile: path.join(outdir, 'preload.cjs'),
    format: 'cjs',
    external: ['electron'],
  });
  return Object.keys(SHELL_ENTRIES).map((name) => path.join(outdir, name));
}

/** Builds dist-electron when it is missing or stale; returns what it did. */
export async function ensureShellBuilt(
  log: (line: string) => void = () => {},
): Promise<'built' | 'up to date'> {
  const reason = shellBuildReason();
  if (reason === undefined) return 'up to date';
  log(`building the desktop app (${reason})…`);
  await buildShell();
  return 'built';
}
