import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import {
  basicInterval,
  bootstrapMean,
  percentileInterval,
  quantileSorted,
} from '../../../main/base/statistics.ts';
import { sequence } from '../gabn/gam-networks.ts';

describe('percentile intervals', () => {
  it('linear interpolation as numpy.quantile', () => {
    // numpy.quantile([1, 2, 3, 4], [0.025, 0.975]) = [1.075, 3.925]
    expect(quantileSorted([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 14);
    expect(quantileSorted([1, 2, 3, 4], 0.975)).toBeCloseTo(3.925, 14);
    const interval = percentileInterval([4, 1, 3, 2]);
    expect(interval.lower).toBeCloseTo(1.075, 14);
    expect(interval.upper).toBeCloseTo(3.925, 14);
    expect(quantileSorted([1, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY], 0.975)).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});

describe('basic bootstrap intervals', () => {
  it('reflect the percentile interval of the resamples around the estimate', () => {
    // Resamples 1..4 around an estimate of 2: percentile [1.075, 3.925], basic [0.075, 2.925].
    const interval = basicInterval(2, [4, 1, 3, 2]);
    expect(interval.lower).toBeCloseTo(0.075, 14);
    expect(interval.upper).toBeCloseTo(2.925, 14);
    // Resamples biased upward by 1 around an unbiased estimate of 0: the basic interval sits below.
    expect(basicInterval(0, [1, 1.5, 2]).upper).toBeLessThan(0);
  });
});

describe('the bootstrap of a mean', () => {
  it('quantile interpolates linearly between order statistics (numpy default)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantileSorted([5], 0.3)).toBe(5);
  });

  it('the bootstrap interval is seeded, contains the mean, and has the width normal theory predicts', () => {
    const values = sequence(400, 81, 1).map((u) => u * u);
    const a = bootstrapMean(values, createPrng(3));
    const b = bootstrapMean(values, createPrng(3));
    expect(b).toEqual(a);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(a.mean).toBeCloseTo(mean, 14);
    expect(a.interval.lower).toBeLessThan(mean);
    expect(a.interval.upper).toBeGreaterThan(mean);
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
    const normalWidth = 2 * 1.959964 * (sd / Math.sqrt(values.length));
    expect((a.interval.upper - a.interval.lower) / normalWidth).toBeGreaterThan(0.9);
    expect((a.interval.upper - a.interval.lower) / normalWidth).toBeLessThan(1.1);
    const constant = bootstrapMean([0.25, 0.25, 0.25], createPrng(1));
    expect(constant).toEqual({ mean: 0.25, interval: { lower: 0.25, upper: 0.25 } });
    expect(bootstrapMean([], createPrng(1)).mean).toBeNaN();
  });
});
