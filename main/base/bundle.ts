/**
 * Where the code runs from. From the source tree the shell, the service and the workers are
 * TypeScript run through tsx's loader; in the packaged app they are bundles
 * (scripts/build-electron.js), plain JavaScript, whose banner names the folder they sit in. A child
 * process is started the same way in both: the bundle of the same name, or the source with the loader.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The global each bundle's banner sets: the URL of the folder of the bundles. */
export const BUNDLE_FOLDER_GLOBAL = '__gabnBundleFolder';

/** The folder of the bundles when this code runs from them; undefined when it runs from source. */
export function bundleFolder(): string | undefined {
  const url = (globalThis as Record<string, unknown>)[BUNDLE_FOLDER_GLOBAL];
  return typeof url === 'string' ? fileURLToPath(url) : undefined;
}

/** How to start a child process whose entry is the TypeScript file `source` (e.g. main/jobs/worker.ts). */
export function childEntry(source: URL): { file: string; execArgv: string[] } {
  const folder = bundleFolder();
  const file = fileURLToPath(source);
  if (folder !== undefined)
    return { file: path.join(folder, `${path.basename(file, '.ts')}.mjs`), execArgv: [] };
  // tsx's loader by absolute URL, so the child starts whatever the current directory is.
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { file, execArgv: ['--import', loader] };
}
