/** Walks `<root>/<group>/<identity>/<image>` trees (RFW's test/data and BUPT's layout alike). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FaceImage, ProblemLog } from './dataset.ts';

export const IMAGE_EXTENSIONS = /\.(jpe?g|png)$/i;

function sortedEntries(dir: string): import('node:fs').Dirent[] {
  return readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
}

export function isDirectory(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

/** Group folders of a tree, sorted; hidden folders are ignored. */
export function groupFolders(root: string): string[] {
  return sortedEntries(root)
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name);
}

/**
 * Every image under `<root>/<group>/<identity>/`, in a stable order. Files that are not images, and
 * images not inside an identity folder, are reported as warnings.
 */
export function scanGroupTree(root: string, datasetRoot: string, problems: ProblemLog): FaceImage[] {
  const images: FaceImage[] = [];
  for (const group of groupFolders(root)) {
    for (const entry of sortedEntries(path.join(root, group))) {
      const identityDir = path.join(root, group, entry.name);
      if (!entry.isDirectory()) {
        if (!entry.name.startsWith('.')) {
          problems.warning('a file directly inside a group folder is ignored', {
            file: path.relative(datasetRoot, identityDir),
            expected: `${group}/<identity>/<image>`,
          });
        }
        continue;
      }
      for (const file of sortedEntries(identityDir)) {
        if (!file.isFile() || file.name.startsWith('.')) continue;
        const full = path.join(identityDir, file.name);
        if (!IMAGE_EXTENSIONS.test(file.name)) {
          problems.warning('not an image file (.jpg, .jpeg or .png); ignored', {
            file: path.relative(datasetRoot, full),
          });
          continue;
        }
        images.push({ path: full, relative: path.relative(datasetRoot, full), identity: entry.name, group });
      }
    }
  }
  return images;
}
