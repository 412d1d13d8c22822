/**
 * The interval of the distance between the groups' average GAMs (pairwiseDistanceWithInterval):
 * its value is the distance of the groups' average maps, its resamples are redrawn here by hand from
 * the same generator, and the basic interval reflects them around the value.
 */
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import {
  groupAttention,
  meanPairwiseDistance,
  pairwiseDistanceWithInterval,
} from '../../../main/eval/attention-stats.ts';

const PIXELS = 12;

/** `count` maps of a bump at `centre` with seeded noise: groups whose attention differs by place. */
function noisyMaps(centre: number, count: number, seed: number): Float32Array[] {
  const prng = createPrng(seed);
  return Array.from({ length: count }, () =>
    Float32Array.from({ length: PIXELS }, (_, i) => Math.exp(-((i - centre) ** 2) / 8) + 0.5 * prng.next()),
  );
}

/** numpy.quantile's default (linear interpolation), written out here. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < sorted.length ? sorted[lo]! + (h - lo) * (sorted[lo + 1]! - sorted[lo]!) : sorted[lo]!;
}

describe('the distance between group GAMs with its interval', () => {
  const groups = [noisyMaps(3, 5, 1), noisyMaps(8, 4, 2), noisyMaps(5, 6, 3)];

  it("is the distance of the groups' average maps", () => {
    const { mean } = pairwiseDistanceWithInterval(groups, createPrng(9), 50);
    const averages = groups.map((maps) => groupAttention(maps).averageMap);
    // The group average map is float32; the interval's averages are float64.
    expect(mean).toBeCloseTo(meanPairwiseDistance(averages), 7);
  });

  it('reflects the resampled distances around the value (the basic bootstrap), redrawn by hand', () => {
    const resamples = 200;
    const { mean, interval } = pairwiseDistanceWithInterval(groups, createPrng(9), resamples);
    const prng = createPrng(9);
    const peak = groups.map((maps) =>
      maps.map((map) => {
        const max = Math.max(...map);
        return Array.from(map, (v) => v / max);
      }),
    );
    const distances: number[] = [];
    for (let b = 0; b < resamples; b++) {
      // Group after group, each redraws as many maps as it has, with replacement.
      const averages = peak.map((maps) => {
        const sum = new Array<number>(PIXELS).fill(0);
        for (let k = 0; k < maps.length; k++) {
          const map = maps[prng.int(0, maps.length - 1)]!;
          for (let i = 0; i < PIXELS; i++) sum[i]! += map[i]!;
        }
        return sum;
      });
      distances.push(meanPairwiseDistance(averages));
    }
    expect(interval.lower).toBeCloseTo(2 * mean - quantile(distances, 0.975), 12);
    expect(interval.upper).toBeCloseTo(2 * mean - quantile(distances, 0.025), 12);
    // The distance of a few noisy maps' averages is biased upward: most resamples lie above it.
    expect(distances.filter((d) => d > mean).length).toBeGreaterThan(resamples / 2);
    expect(interval.lower).toBeLessThan(interval.upper);
  });

  it('is clipped to [0, 1]: groups holding the same maps give 0 [0, 0]', () => {
    const same = noisyMaps(4, 5, 4);
    const { mean, interval } = pairwiseDistanceWithInterval([same, same], createPrng(1), 100);
    expect(mean).toBe(0);
    expect(interval).toEqual({ lower: 0, upper: 0 });
  });

  it('leaves all-zero maps and groups without a map out, and gives NaN below two groups', () => {
    const zero = new Float32Array(PIXELS);
    const withZero = pairwiseDistanceWithInterval([[...groups[0]!, zero], groups[1]!], createPrng(2), 50);
    const without = pairwiseDistanceWithInterval([groups[0]!, groups[1]!], createPrng(2), 50);
    expect(withZero.mean).toBeCloseTo(without.mean, 12);
    const lone = pairwiseDistanceWithInterval([groups[0]!, [zero]], createPrng(2), 50);
    expect(lone.mean).toBeNaN();
    expect(lone.interval.lower).toBeNaN();
  });

  it('refuses maps of different sizes and a bad resample count', () => {
    expect(() =>
      pairwiseDistanceWithInterval([groups[0]!, [new Float32Array(PIXELS + 1).fill(1)]], createPrng(1), 10),
    ).toThrow(/different sizes/);
    expect(() => pairwiseDistanceWithInterval(groups, createPrng(1), 0)).toThrow(/resamples/);
  });
});
