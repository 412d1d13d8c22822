/**
 * Numbers for what the paper only shows as pictures (Fig. 1b, 5): how concentrated a network's
 * attention is, per image and per group.
 *
 * - Mass fraction: the share of the pixels that hold half of the map's mass (sort descending, the
 *   smallest k whose cumulative sum reaches 0.5·total, divided by H·W). Small = a few sensitive
 *   pixels ("the sensitive regions of darker-skinned people are much smaller"); a uniform map gives
 *   0.5.
 * - Normalised entropy of the map read as a distribution: −Σ p log p / log(H·W), p = m / Σ m; 1 for
 *   a uniform map, 0 for a single spike.
 * - Per group: the mean of each with a seeded percentile-bootstrap 95% interval, and the average of
 *   the group's maps, each map first divided by its own maximum.
 *
 * Both per-image numbers are invariant to the map's scale, so raw and normalised maps give the same
 * values.
 */
import { GabnError } from '../errors.ts';
import { createPrng, type Prng } from './prng.ts';

/**
 * Relative slack on "cumulative sum ≥ share·total": sums of float32 values in float64 may round
 * below an exact half (e.g. a uniform map), which would count one pixel too many.
 */
const CUMULATIVE_SLACK = 1e-12;

function checkMap(map: ArrayLike<number>): number {
  if (map.length < 2) {
    throw new GabnError('internal', `an attention map of ${map.length} pixels`, {
      expected: 'at least 2 pixels',
    });
  }
  let total = 0;
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new GabnError('internal', `attention map value ${v} at pixel ${i}`, {
        expected: 'finite values ≥ 0',
      });
    }
    total += v;
  }
  return total;
}

/**
 * The fraction of pixels that hold `share` (default 0.5) of the map's mass. NaN for an all-zero map,
 * which has no mass to share.
 */
export function massFraction(map: ArrayLike<number>, share = 0.5): number {
  if (!(share > 0 && share <= 1)) {
    throw new GabnError('usage', `invalid mass share ${share}`, { expected: 'a number in (0, 1]' });
  }
  const total = checkMap(map);
  if (total === 0) return Number.NaN;
  const sorted = Float64Array.from(map).sort().reverse();
  const goal = share * total * (1 - CUMULATIVE_SLACK);
  let cumulative = 0;
  for (let k = 0; k < sorted.length; k++) {
    cumulative += sorted[k]!;
    if (cumulative >= goal) return (k + 1) / sorted.length;
  }
  return 1;
}

/** −Σ p log p / log(H·W) with p = map / Σ map (0 log 0 = 0). NaN for an all-zero map. */
export function normalisedEntropy(map: ArrayLike<number>): number {
  const total = checkMap(map);
  if (total === 0) return Number.NaN;
  let entropy = 0;
  for (let i = 0; i < map.length; i++) {
    const p = map[i]! / total;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return entropy / Math.log(map.length);
}

/** A mean and its confidence interval. */
export interface Interval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
}

export interface BootstrapOptions {
  /** Seed of the resampling (default 1): the same maps give the same interval. */
  readonly seed?: number;
  /** Bootstrap resamples (default 2000). */
  readonly resamples?: number;
  /** Confidence level (default 0.95). */
  readonly level?: number;
}

/** The q-quantile of ascending `sorted` with linear interpolation (R's type 7, numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

/**
 * The mean of `values` with a percentile-bootstrap interval: `resamples` means of n values drawn
 * with replacement, and their (1 − level)/2 and (1 + level)/2 quantiles. One value gives a zero-width
 * interval; none gives NaN.
 */
export function bootstrapMeanInterval(
  values: readonly number[],
  prng: Prng,
  resamples = 2000,
  level = 0.95,
): Interval {
  if (!(Number.isInteger(resamples) && resamples >= 1)) {
    throw new GabnError('usage', `invalid bootstrap resample count ${resamples}`, {
      expected: 'a positive integer',
    });
  }
  if (!(level > 0 && level < 1)) {
    throw new GabnError('usage', `invalid confidence level ${level}`, { expected: 'a number in (0, 1)' });
  }
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[prng.int(0, n - 1)]!;
    means[b] = sum / n;
  }
  means.sort();
  return { mean, low: quantile(means, (1 - level) / 2), high: quantile(means, (1 + level) / 2) };
}

export interface GroupAttention {
  /** Maps given. */
  readonly count: number;
  /** All-zero maps, left out of the statistics and of the average. */
  readonly empty: number;
  /** Mean mass fraction (share 0.5) with its bootstrap interval. */
  readonly massFraction: Interval;
  /** Mean normalised entropy with its bootstrap interval. */
  readonly entropy: Interval;
  /** The mean of the group's maps, each divided by its own maximum (Fig. 1b, 5). */
  readonly averageMap: Float32Array;
}

/** Statistics of one group's maps (all of one size). The two intervals use independent streams. */
export function groupAttention(
  maps: readonly ArrayLike<number>[],
  options: BootstrapOptions = {},
): GroupAttention {
  const seed = options.seed ?? 1;
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const pixels = maps[0]?.length ?? 0;
  const sum = new Float64Array(pixels);
  const fractions: number[] = [];
  const entropies: number[] = [];
  for (const [n, map] of maps.entries()) {
    if (map.length !== pixels) {
      throw new GabnError('internal', `map ${n} has ${map.length} pixels, map 0 has ${pixels}`, {
        expected: 'maps of one size',
      });
    }
    const fraction = massFraction(map);
    if (Number.isNaN(fraction)) continue;
    fractions.push(fraction);
    entropies.push(normalisedEntropy(map));
    let max = 0;
    for (let i = 0; i < pixels; i++) max = Math.max(max, map[i]!);
    for (let i = 0; i < pixels; i++) sum[i]! += map[i]! / max;
  }
  const kept = fractions.length;
  const averageMap = new Float32Array(pixels);
  if (kept > 0) for (let i = 0; i < pixels; i++) averageMap[i] = sum[i]! / kept;
  return {
    count: maps.length,
    empty: maps.length - kept,
    massFraction: bootstrapMeanInterval(fractions, createPrng(seed), resamples, level),
    entropy: bootstrapMeanInterval(entropies, createPrng(seed + 1), resamples, level),
    averageMap,
  };
}
