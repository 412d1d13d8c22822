/**
 * JSON has no NaN or Infinity (JSON.stringify writes them as null): a figure that is not finite is
 * given as null explicitly, so the type says so.
 */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
