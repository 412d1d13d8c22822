/**
 * The project's one error type. Every failure a user can cause (a missing file, a malformed line, a
 * corrupt image, a checkpoint that does not match) is reported as a GabnError: a kind that code can
 * branch on, a message for people, and where it happened (file and line) with what was expected.
 *
 * The kinds keep three things apart, as VS Code's errors.ts keeps bugs apart from user errors: what
 * the user gave that is wrong (usage, config, missing-file, malformed, corrupt-image, checkpoint,
 * dataset), what happened to the work (cancelled, diverged, busy), and what is a bug (internal).
 */
export const GABN_ERROR_KINDS = [
  /** A command or API call asked for something it cannot do (a bad option, an unknown id). */
  'usage',
  /** A training configuration or setting out of its range. */
  'config',
  /** The compute backend cannot load or run. */
  'backend',
  'missing-file',
  /** A file whose content is not of its format: the line and what was expected say where. */
  'malformed',
  'corrupt-image',
  /** A checkpoint that is inconsistent, or does not fit what it is used for. */
  'checkpoint',
  /** A dataset that cannot serve the work (no pairs, one group, no images). */
  'dataset',
  /** Stopped on request (Ctrl-C, SIGTERM, the cancel button). */
  'cancelled',
  /** A training run whose loss or gradient stopped being finite: the weights were kept. */
  'diverged',
  /** The resource is held by another live process (a run folder being trained into). */
  'busy',
  /** A programming error: never the user's fault. */
  'internal',
] as const;

export type GabnErrorKind = (typeof GABN_ERROR_KINDS)[number];

export interface GabnErrorDetails {
  /** The file the problem is in, as the user named it or as found on disk. */
  file?: string;
  /** 1-based line number inside `file`. */
  line?: number;
  /** The form that was expected, in words a user understands. */
  expected?: string;
  cause?: unknown;
}

export class GabnError extends Error {
  readonly kind: GabnErrorKind;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly expected: string | undefined;

  constructor(kind: GabnErrorKind, message: string, details: GabnErrorDetails = {}) {
    super(
      formatMessage(message, details),
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = 'GabnError';
    this.kind = kind;
    this.file = details.file;
    this.line = details.line;
    this.expected = details.expected;
  }
}

function formatMessage(message: string, { file, line, expected }: GabnErrorDetails): string {
  const where = file === undefined ? '' : line === undefined ? `${file}: ` : `${file}:${line}: `;
  const want = expected === undefined ? '' : ` (expected ${expected})`;
  return `${where}${message}${want}`;
}

/** A GabnError's message without the "file:line: " it begins with and the "(expected …)" it ends with. */
export function bareMessage(error: GabnError): string {
  const where =
    error.file === undefined
      ? ''
      : error.line === undefined
        ? `${error.file}: `
        : `${error.file}:${error.line}: `;
  const want = error.expected === undefined ? '' : ` (expected ${error.expected})`;
  let message = error.message;
  if (where !== '' && message.startsWith(where)) message = message.slice(where.length);
  if (want !== '' && message.endsWith(want)) message = message.slice(0, -want.length);
  return message;
}

export function isGabnError(value: unknown): value is GabnError {
  return value instanceof GabnError;
}

export function isGabnErrorKind(value: unknown): value is GabnErrorKind {
  return typeof value === 'string' && (GABN_ERROR_KINDS as readonly string[]).includes(value);
}

/** An error as it crosses a process or host boundary: a GabnError's fields, never a stack. */
export interface ErrorFields {
  readonly kind: string;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly expected?: string;
}

const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  EISDIR: 'is a folder',
  ENOTDIR: 'is not a folder',
  EACCES: 'is not readable (permission denied)',
  EPERM: 'is not permitted',
  ELOOP: 'is a loop of links',
  ENAMETOOLONG: 'has too long a name',
  EMFILE: 'cannot be opened: too many open files',
  ENOSPC: 'cannot be written: the disk is full',
  EROFS: 'cannot be written: read-only file system',
};

/**
 * A file system error of Node (ENOENT, EISDIR, EACCES…) naming a path is about the user's files, not
 * a bug: as a GabnError naming the file. Anything else: undefined.
 */
export function fromSystemError(error: unknown): GabnError | undefined {
  if (!(error instanceof Error)) return undefined;
  // (Typed by hand: the renderer reads this file too, without Node's types.)
  const { code, path } = error as Error & { code?: unknown; path?: unknown };
  if (typeof code !== 'string' || typeof path !== 'string' || !/^E[A-Z]+$/.test(code)) return undefined;
  return new GabnError('missing-file', SYSTEM_ERRORS[code] ?? `cannot be used (${code})`, {
    file: path,
    cause: error,
  });
}

/** Any thrown value as fields; what is not a GabnError (or a file system error) is a bug, reported as 'internal'. */
export function errorFields(error: unknown): ErrorFields {
  const system = fromSystemError(error);
  if (system !== undefined) return errorFields(system);
  if (isGabnError(error)) {
    return {
      kind: error.kind,
      message: error.message,
      ...(error.file === undefined ? {} : { file: error.file }),
      ...(error.line === undefined ? {} : { line: error.line }),
      ...(error.expected === undefined ? {} : { expected: error.expected }),
    };
  }
  return {
    kind: 'internal',
    message: `internal error: ${error instanceof Error ? error.message : String(error)}`,
  };
}

/** Fields received from elsewhere back as a GabnError (their message already says where). */
export function fromErrorFields(fields: ErrorFields): GabnError {
  return new GabnError(isGabnErrorKind(fields.kind) ? fields.kind : 'internal', fields.message);
}
