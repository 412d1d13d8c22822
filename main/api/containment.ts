/**
 * Path containment for everything a host serves from disk: a requested file must resolve, after
 * following every symbolic link, to a path inside one of the allowed roots (the datasets,
 * checkpoints and runs the user opened). `..`, absolute paths and links that point outside all
 * end up outside and are refused.
 */
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { isInside, realPathOrUndefined as real } from '../base/paths.ts';

/** The largest file a host serves from an opened root (reports, figures, images, run files). */
export const MAX_SERVED_FILE_BYTES = 512 * 1024 ** 2;

/**
 * The real path of `requested` (absolute, or relative to `base`) if it lies inside one of `roots`;
 * throws a GabnError of kind 'usage' ("outside") otherwise, and 'missing-file' when it does not exist.
 * Both sides are compared as real paths, so a root reached through a link still matches.
 */
export function resolveContained(roots: readonly string[], requested: string, base?: string): string {
  if (requested.includes('\u0000')) throw new GabnError('usage', 'a path with a NUL character');
  const absolute = path.resolve(base ?? '/', requested);
  const realRoots = roots.map(real).filter((r): r is string => r !== undefined);
  // Check the lexical path first: a request naming something outside is refused even if it does not exist.
  const lexicallyInside =
    realRoots.some((root) => isInside(root, absolute)) ||
    roots.some((r) => isInside(path.resolve(r), absolute));
  if (!lexicallyInside) throw outside(requested);
  const target = real(absolute);
  if (target === undefined) throw new GabnError('missing-file', 'no such file', { file: requested });
  if (!realRoots.some((root) => isInside(root, target))) throw outside(requested);
  return target;
}

/** A request for a file outside every allowed root: the browser host answers 403. */
export class OutsideError extends GabnError {
  constructor(requested: string) {
    super('usage', `'${requested.slice(0, 200)}' is outside the opened datasets, checkpoints and runs`, {
      expected: 'a file inside an opened dataset, checkpoint or run',
    });
  }
}

function outside(requested: string): OutsideError {
  return new OutsideError(requested);
}
