/**
 * The paper's fairness figures (Sec. 4.1, Tables 1-4), computed from the per-group verification
 * accuracies in percent:
 * - Avg: the arithmetic mean of the group accuracies;
 * - STD: the *sample* standard deviation (divisor G − 1) of the group accuracies. The population
 *   deviation (divisor G) cannot give any printed row; see tests/unit/eval/paper-tables.test.ts and
 *   docs/metrics.md for how this was established;
 * - SER, the skewed error ratio: max_g Error_g / min_g Error_g with Error_g = 100 − accuracy_g.
 */
import { GabnError } from '../base/errors.ts';

export interface PaperFairness {
  /** Mean accuracy over the groups, percent. */
  readonly average: number;
  /** Sample standard deviation of the group accuracies, percentage points. */
  readonly std: number;
  /** Skewed error ratio; +Infinity when some group makes no error at all. */
  readonly ser: number;
}

function checkAccuracies(accuraciesPercent: ArrayLike<number>): void {
  if (accuraciesPercent.length < 2) {
    throw new GabnError('dataset', `fairness needs at least 2 groups, got ${accuraciesPercent.length}`);
  }
  for (let i = 0; i < accuraciesPercent.length; i++) {
    const a = accuraciesPercent[i]!;
    if (!(a >= 0 && a <= 100)) throw new GabnError('internal', `accuracy ${a} is not a percentage`);
  }
}

export function averageAccuracy(accuraciesPercent: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < accuraciesPercent.length; i++) sum += accuraciesPercent[i]!;
  return sum / accuraciesPercent.length;
}

/** Sample standard deviation (divisor n − 1), the paper's "STD". */
export function accuracyStd(accuraciesPercent: ArrayLike<number>): number {
  const n = accuraciesPercent.length;
  const mean = averageAccuracy(accuraciesPercent);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = accuraciesPercent[i]! - mean;
    sum += d * d;
  }
  return Math.sqrt(sum / (n - 1));
}

/** SER = max_g Error_g / min_g Error_g, Error_g = 100 − accuracy_g (percent). */
export function skewedErrorRatio(accuraciesPercent: ArrayLike<number>): number {
  let maxError = Number.NEGATIVE_INFINITY;
  let minError = Number.POSITIVE_INFINITY;
  for (let i = 0; i < accuraciesPercent.length; i++) {
    const error = 100 - accuraciesPercent[i]!;
    if (error > maxError) maxError = error;
    if (error < minError) minError = error;
  }
  if (minError === 0) return maxError === 0 ? 1 : Number.POSITIVE_INFINITY;
  return maxError / minError;
}

export function paperFairness(accuraciesPercent: ArrayLike<number>): PaperFairness {
  checkAccuracies(accuraciesPercent);
  return {
    average: averageAccuracy(accuraciesPercent),
    std: accuracyStd(accuraciesPercent),
    ser: skewedErrorRatio(accuraciesPercent),
  };
}
