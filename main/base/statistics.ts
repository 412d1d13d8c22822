/**
 * The statistics every figure of the project rests on: quantiles, percentile intervals and the
 * bootstrap of a mean. One definition each, so an interval in an audit report, in the attention
 * statistics and in a training run's validation means the same thing.
 *
 * Quantiles interpolate linearly between order statistics (Hyndman & Fan type 7, numpy.quantile's
 * default); a percentile interval at confidence c is the (1 − c)/2 and (1 + c)/2 quantiles.
 */
import { GabnError } from './errors.ts';
import type { Prng } from './random.ts';

/** A confidence interval; an endpoint may be ±Infinity (a ratio whose best group made no error). */
export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

/** A mean and its confidence interval. */
export interface MeanWithInterval {
  readonly mean: number;
  readonly interval: Interval;
}

/** The q-quantile of ascending `sorted` with linear interpolation; NaN when there is no value. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const frac = h - lo;
  const a = sorted[lo]!;
  if (frac === 0 || lo + 1 >= n) return a;
  const b = sorted[lo + 1]!;
  // Infinite values (an SER whose best group made no error) must not turn into NaN.
  if (a === b) return a;
  return a + frac * (b - a);
}

export function checkConfidence(confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) {
    throw new GabnError('usage', `the confidence level must lie in (0, 1), got ${confidence}`, {
      expected: 'a number in (0, 1), e.g. 0.95',
    });
  }
  return confidence;
}

/** The percentile interval of `values` (in any order). */
export function percentileInterval(values: ArrayLike<number>, confidence = 0.95): Interval {
  checkConfidence(confidence);
  const sorted = Float64Array.from(values).sort();
  return {
    lower: quantileSorted(sorted, (1 - confidence) / 2),
    upper: quantileSorted(sorted, (1 + confidence) / 2),
  };
}

/**
 * The basic (reverse percentile) bootstrap interval of `estimate` from its resampled values:
 * [2θ − q_hi, 2θ − q_lo]. Where a plug-in estimate is biased, its resamples carry the bias once more;
 * reflecting them around the estimate corrects for it, where a percentile interval would not.
 */
export function basicInterval(estimate: number, resampled: ArrayLike<number>, confidence = 0.95): Interval {
  const spread = percentileInterval(resampled, confidence);
  return { lower: 2 * estimate - spread.upper, upper: 2 * estimate - spread.lower };
}

export function checkResamples(resamples: number): number {
  if (!(Number.isInteger(resamples) && resamples >= 1)) {
    throw new GabnError(
      'usage',
      `the number of bootstrap resamples must be a positive integer, got ${resamples}`,
      {
        expected: 'an integer ≥ 1',
      },
    );
  }
  return resamples;
}

/**
 * The mean of `values` with a percentile-bootstrap interval: `resamples` means of n values drawn
 * with replacement. One value gives a zero-width interval; none gives NaN.
 */
export function bootstrapMean(
  values: readonly number[],
  prng: Prng,
  resamples = 2000,
  confidence = 0.95,
): MeanWithInterval {
  checkResamples(resamples);
  checkConfidence(confidence);
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, interval: { lower: Number.NaN, upper: Number.NaN } };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[prng.int(0, n - 1)]!;
    means[b] = sum / n;
  }
  return { mean, interval: percentileInterval(means, confidence) };
}
