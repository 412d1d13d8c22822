/**
 * Max/min ratio of an error rate across groups (NIST FRVT part 3 reports FMR and FNMR this way):
 * how many times more often the worst-served group meets the error than the best-served one.
 * +Infinity when the best group has no error and some other group has; 1 when no group has any.
 */
export function maxMinRatio(values: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  if (min === 0) return max === 0 ? 1 : Number.POSITIVE_INFINITY;
  return max / min;
}
