/**
 * Reading files that come from elsewhere (datasets, checkpoints, score files): a hostile or broken
 * one must be refused at once with a clear error, never read without end or followed out of its
 * folder. So a read here takes only a regular file (a folder, a device such as /dev/zero, a pipe or a
 * socket is refused before a byte is read), never more bytes than its caller allows, and, when asked,
 * only a file whose real path lies inside a given folder.
 *
 * Text has one policy for every format: UTF-8, a leading byte order mark ignored, anything that is
 * not UTF-8 refused with the line of its first bad byte (UTF-16 files are named as such), and CR LF,
 * CR and LF all end a line.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from './errors.ts';
import { isInside, realPathOrUndefined } from './paths.ts';

export interface UntrustedReadOptions {
  /** What the file is, for messages: "the pairs file", "weights.bin". */
  readonly what: string;
  /** Refuse a larger file (bytes). */
  readonly maxBytes: number;
  /** Refuse a file whose real path is not inside this folder. */
  readonly inside?: string;
  /** The form a person should give instead, for messages. */
  readonly expected?: string;
}

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** What a non-regular file is, in words. */
function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isFIFO()) return 'a pipe';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Why a file may not be read: what a GabnError about it says. */
export interface FileProblem {
  readonly kind: 'missing-file' | 'malformed';
  /** Begins with `options.what`: "the image is a folder". */
  readonly message: string;
  readonly expected?: string;
}

/**
 * Why `file` may not be read under `options` (it does not exist, is not a regular file after links,
 * lies outside `options.inside`, or is over `maxBytes`), or its size when it may. Reads nothing.
 */
export function untrustedFileProblem(file: string, options: UntrustedReadOptions): FileProblem | number {
  const expected = options.expected ? { expected: options.expected } : {};
  let stat: Stats;
  try {
    stat = statSync(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(cause)})`;
    return { kind: 'missing-file', message: `${options.what} ${why}`, ...expected };
  }
  if (!stat.isFile())
    return { kind: 'malformed', message: `${options.what} is ${kindOf(stat)}`, ...expected };
  if (options.inside !== undefined) {
    const root = realPathOrUndefined(options.inside) ?? path.resolve(options.inside);
    const target = realPathOrUndefined(file);
    if (target === undefined || !isInside(root, target)) {
      return {
        kind: 'malformed',
        message: `${options.what} is a link that leads out of ${root}`,
        expected: `a file inside ${root}`,
      };
    }
  }
  if (stat.size > options.maxBytes) {
    return {
      kind: 'malformed',
      message: `${options.what} is ${sizeText(stat.size)}, more than the ${sizeText(options.maxBytes)} allowed`,
      ...expected,
    };
  }
  return stat.size;
}

/** Checks `file` as untrustedFileProblem does; returns its size or throws the problem as a GabnError. */
export function checkUntrustedFile(file: string, options: UntrustedReadOptions): number {
  const problem = untrustedFileProblem(file, options);
  if (typeof problem === 'number') return problem;
  throw new GabnError(problem.kind, problem.message, {
    file,
    ...(problem.expected ? { expected: problem.expected } : {}),
  });
}

/**
 * The bytes of `file`, checked as `checkUntrustedFile` does. At most `maxBytes` are read even if the
 * file grows meanwhile (a file that changes under the read is refused).
 */
export function readUntrustedFile(file: string, options: UntrustedReadOptions): Buffer {
  const size = checkUntrustedFile(file, options);
  let fd: number;
  try {
    // Non-blocking: a pipe put in the file's place since the check would block the open for ever.
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    throw new GabnError('missing-file', `${options.what} cannot be opened`, { file, cause });
  }
  try {
    // The descriptor is what is read: check it too (the name may have been replaced since).
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size !== size) {
      throw new GabnError('malformed', `${options.what} changed while it was being read`, { file });
    }
    const buffer = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const n = readSync(fd, buffer, offset, size - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    if (offset !== size) {
      throw new GabnError('malformed', `${options.what} changed while it was being read`, { file });
    }
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/** The first `length` bytes of `file` (fewer if it is shorter), checked as checkUntrustedFile does. */
export function readUntrustedStart(file: string, options: UntrustedReadOptions, length: number): Buffer {
  const size = checkUntrustedFile(file, options);
  const fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    if (!fstatSync(fd).isFile()) {
      throw new GabnError('malformed', `${options.what} changed while it was being read`, { file });
    }
    const buffer = Buffer.alloc(Math.min(size, length));
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The 1-based line of byte `offset`. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** The offset of the first byte that is not part of valid UTF-8. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length =
      b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    try {
      UTF8.decode(bytes.subarray(i, i + length));
    } catch {
      return i;
    }
    i += length;
  }
  return bytes.length;
}

/**
 * Line ends as one: Windows' CR LF and old Macs' lone CR become LF, so every format (and every line
 * number in a message) counts lines as an editor shows them.
 */
export function withUnixLineEnds(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** A leading byte order mark is not part of the text. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Bytes as UTF-8 text, without a leading byte order mark; anything else is refused. */
export function decodeUtf8Text(bytes: Uint8Array, file: string, what = 'the file'): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new GabnError('malformed', `${what} is UTF-16 text`, {
      file,
      line: 1,
      expected: 'UTF-8 text (save the file as UTF-8)',
    });
  }
  try {
    return withoutBom(UTF8.decode(bytes));
  } catch {
    const offset = firstInvalidUtf8(bytes);
    throw new GabnError('malformed', `${what} is not valid UTF-8 (byte ${offset + 1})`, {
      file,
      line: lineAt(bytes, offset),
      expected: 'UTF-8 text',
    });
  }
}

/** A text file, read as readUntrustedFile does and decoded as decodeUtf8Text does. */
export function readUntrustedText(file: string, options: UntrustedReadOptions): string {
  return decodeUtf8Text(readUntrustedFile(file, options), file, options.what);
}

/** Text files of datasets and score files: lists of millions of lines, within what one string holds. */
export const MAX_TEXT_BYTES = 256 * 1024 ** 2;
