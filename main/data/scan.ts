/**
 * Walks `<root>/<group>/<identity>/<image>` trees (RFW's test/data and BUPT's layout alike). What a
 * tree from elsewhere may hold is reported, never followed or thrown: a name that is not valid UTF-8,
 * a folder that cannot be read, a link that leads out of the dataset (an error: nothing outside a
 * dataset is read through it), a device or pipe. Links that stay inside the dataset are followed.
 */
import { existsSync, readdirSync, type Stats, statSync } from 'node:fs';
import path from 'node:path';
import { isInside, realPathOrUndefined } from '../base/paths.ts';
import type { FaceImage, ProblemLog } from './dataset.ts';

export const IMAGE_EXTENSIONS = /\.(jpe?g|png)$/i;

interface Entry {
  readonly name: string;
  readonly full: string;
  readonly kind: 'folder' | 'file' | 'other';
}

export function isDirectory(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function kindOf(stat: Stats): Entry['kind'] {
  return stat.isDirectory() ? 'folder' : stat.isFile() ? 'file' : 'other';
}

/**
 * The entries of `dir`, sorted by name, hidden ones left out; what cannot be used is reported
 * against `datasetRoot` (paths in messages are relative to it) and left out.
 */
function entriesOf(dir: string, datasetRoot: string, problems: ProblemLog | undefined): Entry[] {
  const shown = (full: string) => path.relative(datasetRoot, full) || '.';
  let raw: import('node:fs').Dirent<Buffer>[];
  try {
    raw = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    problems?.error(
      `the folder cannot be read (${code})`,
      { file: shown(dir), expected: 'a readable folder' },
      'dataset',
    );
    return [];
  }
  const realRoot = realPathOrUndefined(datasetRoot) ?? datasetRoot;
  const entries: Entry[] = [];
  for (const dirent of raw) {
    const name = dirent.name.toString('utf8');
    if (name.startsWith('.')) continue;
    const full = path.join(dir, name);
    if (!Buffer.from(name, 'utf8').equals(dirent.name)) {
      problems?.error(
        'a name that is not valid UTF-8 is ignored',
        { file: shown(full), expected: 'file and folder names in UTF-8 (rename it)' },
        'dataset',
      );
      continue;
    }
    let kind: Entry['kind'] = dirent.isDirectory() ? 'folder' : dirent.isFile() ? 'file' : 'other';
    if (dirent.isSymbolicLink()) {
      const target = realPathOrUndefined(full);
      if (target === undefined || !isInside(realRoot, target)) {
        problems?.error(
          target === undefined
            ? 'a link to nothing is ignored'
            : 'a link that leads out of the dataset is ignored',
          {
            file: shown(full),
            expected: 'files and folders inside the dataset (links may not lead out of it)',
          },
          'dataset',
        );
        continue;
      }
      kind = kindOf(statSync(target));
    }
    entries.push({ name, full, kind });
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Group folders of a tree, sorted; hidden folders are ignored, unusable ones reported when `problems` is given. */
export function groupFolders(root: string, datasetRoot = root, problems?: ProblemLog): string[] {
  if (!isDirectory(root)) return [];
  return entriesOf(root, datasetRoot, problems)
    .filter((e) => e.kind === 'folder')
    .map((e) => e.name);
}

/**
 * Every image under `<root>/<group>/<identity>/`, in a stable order. Files that are not images, and
 * images not inside an identity folder, are reported as warnings.
 */
export function scanGroupTree(root: string, datasetRoot: string, problems: ProblemLog): FaceImage[] {
  const images: FaceImage[] = [];
  for (const group of entriesOf(root, datasetRoot, problems)) {
    if (group.kind !== 'folder') continue;
    for (const identity of entriesOf(group.full, datasetRoot, problems)) {
      if (identity.kind !== 'folder') {
        problems.warning('a file directly inside a group folder is ignored', {
          file: path.relative(datasetRoot, identity.full),
          expected: `${group.name}/<identity>/<image>`,
        });
        continue;
      }
      for (const file of entriesOf(identity.full, datasetRoot, problems)) {
        if (file.kind === 'folder') continue;
        const relative = path.relative(datasetRoot, file.full);
        if (!IMAGE_EXTENSIONS.test(file.name)) {
          problems.warning('not an image file (.jpg, .jpeg or .png); ignored', { file: relative });
          continue;
        }
        if (file.kind !== 'file') {
          problems.error(
            'an image name on something that is not a file (a device or pipe)',
            { file: relative, expected: 'image files' },
            'dataset',
          );
          continue;
        }
        images.push({ path: file.full, relative, identity: identity.name, group: group.name });
      }
    }
  }
  return images;
}
