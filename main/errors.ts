/**
 * The project's one error type. Every failure a user can cause (a missing file, a malformed line, a
 * corrupt image, a checkpoint that does not match) is reported as a GabnError: a kind that code can
 * branch on, a message for people, and where it happened (file and line) with what was expected.
 */
export type GabnErrorKind =
  | 'usage'
  | 'config'
  | 'backend'
  | 'missing-file'
  | 'malformed'
  | 'corrupt-image'
  | 'checkpoint'
  | 'dataset'
  | 'cancelled'
  | 'internal';

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

export function isGabnError(value: unknown): value is GabnError {
  return value instanceof GabnError;
}
