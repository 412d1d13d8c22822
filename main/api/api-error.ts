/** Errors as they cross a process or host boundary: a GabnError's fields, never a stack. */
import { GabnError, isGabnError } from '../base/errors.ts';
import type { ApiError } from './contract.ts';

export function toApiError(error: unknown): ApiError {
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

/** Turns an ApiError received from elsewhere back into a GabnError (its message already says where). */
export function fromApiError(error: ApiError): GabnError {
  const known = [
    'usage',
    'config',
    'backend',
    'missing-file',
    'malformed',
    'corrupt-image',
    'checkpoint',
    'dataset',
    'cancelled',
    'internal',
  ] as const;
  const kind = (known as readonly string[]).includes(error.kind)
    ? (error.kind as (typeof known)[number])
    : 'internal';
  const result = new GabnError(kind, error.message);
  return result;
}
