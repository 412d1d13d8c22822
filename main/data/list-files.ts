/**
 * What every loader does with the files a dataset is made of: it reads its list files (RFW's txts,
 * the CSVs) as untrusted text (a regular file, of a bounded size, UTF-8, a leading byte order mark
 * ignored), and it checks each image file a list names before it is ever opened: it must be a
 * regular file (no folder, device or pipe) whose real path, links followed, lies inside the
 * dataset. A hostile list can then name nothing outside its dataset, and nothing that never ends.
 */
import {
  MAX_TEXT_BYTES,
  readUntrustedText,
  untrustedFileProblem,
  withUnixLineEnds,
} from '../base/untrusted-files.ts';
import type { ProblemLog } from './dataset.ts';

/** The largest image file a dataset may hold: face images are kilobytes, photographs megabytes. */
export const MAX_IMAGE_BYTES = 64 * 1024 ** 2;

/**
 * The text of list file `file`, shown to people as `shown`; undefined (the problem logged) when it
 * cannot be read as text. In strict mode the problem throws.
 */
export function readListFile(
  file: string,
  shown: string,
  what: string,
  problems: ProblemLog,
): string | undefined {
  try {
    return readUntrustedText(file, { what, maxBytes: MAX_TEXT_BYTES });
  } catch (error) {
    problems.fileError(error, shown);
    return undefined;
  }
}

/** Lines of a text with their 1-based numbers; a final newline does not make an empty line. */
export function numberedLines(text: string): { text: string; line: number }[] {
  const lines = withUnixLineEnds(text).split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => ({ text: line, line: i + 1 }));
}

export interface ImageFileProblem {
  readonly message: string;
  readonly kind: 'dataset' | 'malformed';
  readonly expected: string;
}

/**
 * Why the image file `full` (named `shown`) cannot be part of the dataset rooted at `root`, or
 * undefined when it can: missing, not a regular file, a link out of the dataset, or too large.
 */
export function imageFileProblem(full: string, shown: string, root: string): ImageFileProblem | undefined {
  const problem = untrustedFileProblem(full, { what: shown, maxBytes: MAX_IMAGE_BYTES, inside: root });
  if (typeof problem === 'number') return undefined;
  if (problem.kind === 'missing-file') {
    return { message: problem.message, kind: 'dataset', expected: 'paths of existing images' };
  }
  const outside = problem.message.includes('a link that leads out of');
  return {
    message: outside ? `${shown} is a link that leads out of the dataset` : problem.message,
    kind: 'malformed',
    expected: outside
      ? 'images inside the dataset (links are followed, and none may lead out of it)'
      : 'image files',
  };
}
