/**
 * Whether a path lies inside a folder, the one test every containment check of the project uses:
 * the browser host's files, a dataset's images, a checkpoint's weights. A name that merely starts
 * with two dots (`..foo.txt`) is inside; only a `..` segment leaves.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  if (relative === '') return true;
  if (path.isAbsolute(relative)) return false;
  return relative !== '..' && !relative.startsWith(`..${path.sep}`);
}

/** The real path of `file` (every link followed), or undefined when it does not exist. */
export function realPathOrUndefined(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

/** Whether `file`, with every link followed, lies inside `root` (also followed). */
export function resolvesInside(root: string, file: string): boolean {
  const realRoot = realPathOrUndefined(root) ?? path.resolve(root);
  const target = realPathOrUndefined(file);
  return target !== undefined && isInside(realRoot, target);
}
