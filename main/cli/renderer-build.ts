/**
 * The renderer is built with Vite into renderer/dist, which both hosts serve. `gabn start` (and the
 * end-to-end tests) build it when dist is missing or older than any source file.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GabnError } from '../base/errors.ts';

export const RENDERER_DIR = fileURLToPath(new URL('../../renderer', import.meta.url));
export const RENDERER_DIST = path.join(RENDERER_DIR, 'dist');
/** The colormaps are bundled into the renderer too. */
const EXTRA_SOURCES = [
  fileURLToPath(new URL('../../resources/colormaps.json', import.meta.url)),
  fileURLToPath(new URL('../api/contract.ts', import.meta.url)),
];

function newestMtime(target: string): number {
  const info = statSync(target);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const name of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, name)));
  return newest;
}

/** Why the renderer needs a build, or undefined when renderer/dist is up to date. */
export function rendererBuildReason(): string | undefined {
  const index = path.join(RENDERER_DIST, 'index.html');
  if (!existsSync(index)) return `${RENDERER_DIST} is missing`;
  const built = statSync(index).mtimeMs;
  const sources = [
    path.join(RENDERER_DIR, 'src'),
    path.join(RENDERER_DIR, 'index.html'),
    path.join(RENDERER_DIR, 'vite.config.ts'),
    ...EXTRA_SOURCES,
  ];
  const newest = Math.max(...sources.filter((s) => existsSync(s)).map(newestMtime));
  return newest > built ? 'a renderer source is newer than the build' : undefined;
}

/** Builds renderer/dist when it is missing or stale; returns what it did. */
export async function ensureRendererBuilt(
  log: (line: string) => void = () => {},
): Promise<'built' | 'up to date'> {
  const reason = rendererBuildReason();
  if (reason === undefined) return 'up to date';
  log(`building the renderer (${reason})…`);
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch (error) {
    throw new GabnError('missing-file', 'cannot build the renderer: vite is not installed', {
      expected: "the project's dev dependencies ('npm ci')",
      cause: error,
    });
  }
  await vite.build({ configFile: path.join(RENDERER_DIR, 'vite.config.ts'), logLevel: 'warn' });
  return 'built';
}
