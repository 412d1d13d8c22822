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
import { GabnError } from '../base/errors.ts';
import { createPrng, type Prng } from '../base/random.ts';
import {
  basicInterval,
  bootstrapMean,
  checkConfidence,
  checkResamples,
  type MeanWithInterval,
} from '../base/statistics.ts';

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

/**
 * The stride lattice of a network: the pixels within one of a multiple of `stride` in both rows and
 * columns. The GAM of a strided network concentrates there (four stride-2 stages: every 16 pixels),
 * an untrained network's too, so it comes from the architecture, not from learning.
 */
function onLattice(index: number, stride: number): boolean {
  const r = index % stride;
  return r === 0 || r === 1 || r === stride - 1;
}

/** The share of the image's pixels on the stride lattice: what a uniform map puts there. */
export function latticeArea(height: number, width: number, stride: number): number {
  let rows = 0;
  let columns = 0;
  for (let r = 0; r < height; r++) if (onLattice(r, stride)) rows++;
  for (let c = 0; c < width; c++) if (onLattice(c, stride)) columns++;
  return (rows * columns) / (height * width);
}

/** The share of the map's mass on the stride lattice (NaN for an all-zero map). */
export function latticeShare(map: ArrayLike<number>, height: number, width: number, stride: number): number {
  if (map.length !== height * width) {
    throw new GabnError(
      'internal',
      `an attention map of ${map.length} values for a ${height}×${width} image`,
    );
  }
  const total = checkMap(map);
  if (total === 0) return Number.NaN;
  let on = 0;
  for (let r = 0; r < height; r++) {
    if (!onLattice(r, stride)) continue;
    for (let c = 0; c < width; c++) if (onLattice(c, stride)) on += map[r * width + c]!;
  }
  return on / total;
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

export interface GroupAttention {
  /** Maps given. */
  readonly count: number;
  /** All-zero maps, left out of the statistics and of the average. */
  readonly empty: number;
  /** Mean mass fraction (share 0.5) with its bootstrap interval. */
  readonly massFraction: MeanWithInterval;
  /** Mean normalised entropy with its bootstrap interval. */
  readonly entropy: MeanWithInterval;
  /**
   * Mean share of the mass on the network's stride lattice with its bootstrap interval, and the
   * share a uniform map would have there; absent when the network's stride is not known.
   */
  readonly lattice?: { readonly share: MeanWithInterval; readonly area: number };
  /** The mean of the group's maps, each divided by its own maximum (Fig. 1b, 5). */
  readonly averageMap: Float32Array;
}

export interface AttentionBootstrapOptions {
  /** Seed of the resampling (default 1): the same maps give the same interval. */
  readonly seed?: number;
  /** Bootstrap resamples (default 2000). */
  readonly resamples?: number;
  /** Confidence level (default 0.95). */
  readonly confidence?: number;
}

/**
 * A group's statistics gathered one map at a time (a pass over a dataset need not keep its maps).
 * Maps must all have one size; all-zero maps are counted as empty and left out.
 */
export class GroupAttentionAccumulator {
  private sum: Float64Array | undefined;
  private readonly fractions: number[] = [];
  private readonly entropies: number[] = [];
  private readonly lattice: number[] = [];
  private count = 0;

  /** With the maps' geometry and the network's stride, the lattice share is gathered too. */
  constructor(private readonly geometry?: { height: number; width: number; stride: number }) {}

  add(map: ArrayLike<number>): void {
    this.sum ??= new Float64Array(map.length);
    if (map.length !== this.sum.length) {
      throw new GabnError(
        'internal',
        `map ${this.count} has ${map.length} pixels, map 0 has ${this.sum.length}`,
        {
          expected: 'maps of one size',
        },
      );
    }
    this.count++;
    const fraction = massFraction(map);
    if (Number.isNaN(fraction)) return;
    this.fractions.push(fraction);
    this.entropies.push(normalisedEntropy(map));
    const g = this.geometry;
    if (g !== undefined) this.lattice.push(latticeShare(map, g.height, g.width, g.stride));
    let max = 0;
    for (let i = 0; i < map.length; i++) max = Math.max(max, map[i]!);
    for (let i = 0; i < map.length; i++) this.sum[i]! += map[i]! / max;
  }

  /** The statistics so far; the intervals use independent streams (seed, seed + 1, seed + 2). */
  result(options: AttentionBootstrapOptions = {}): GroupAttention {
    const seed = options.seed ?? 1;
    const resamples = options.resamples ?? 2000;
    const confidence = options.confidence ?? 0.95;
    const kept = this.fractions.length;
    const pixels = this.sum?.length ?? 0;
    const averageMap = new Float32Array(pixels);
    if (kept > 0) for (let i = 0; i < pixels; i++) averageMap[i] = this.sum![i]! / kept;
    return {
      count: this.count,
      empty: this.count - kept,
      massFraction: bootstrapMean(this.fractions, createPrng(seed), resamples, confidence),
      entropy: bootstrapMean(this.entropies, createPrng(seed + 1), resamples, confidence),
      ...(this.geometry === undefined
        ? {}
        : {
            lattice: {
              share: bootstrapMean(this.lattice, createPrng(seed + 2), resamples, confidence),
              area: latticeArea(this.geometry.height, this.geometry.width, this.geometry.stride),
            },
          }),
      averageMap,
    };
  }
}

/** Statistics of one group's maps (all of one size). */
export function groupAttention(
  maps: readonly ArrayLike<number>[],
  options: AttentionBootstrapOptions = {},
): GroupAttention {
  const accumulator = new GroupAttentionAccumulator();
  for (const map of maps) accumulator.add(map);
  return accumulator.result(options);
}

/**
 * The total variation distance between two maps each read as a distribution (divided by its own
 * sum): ½ Σ |p − q|, in [0, 1]; 0 for maps equal up to scale, 1 for maps with disjoint support.
 * NaN when either map is all zero.
 */
export function totalVariationDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameSize(a, b);
  return distanceOfSums(a, checkMap(a), b, checkMap(b));
}

function checkSameSize(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) {
    throw new GabnError('internal', `attention maps of ${a.length} and ${b.length} pixels compared`, {
      expected: 'maps of one size',
    });
  }
}

/** ½ Σ |a/Σa − b/Σb| of maps already checked, given their sums; NaN when either sum is 0. */
function distanceOfSums(a: ArrayLike<number>, sumA: number, b: ArrayLike<number>, sumB: number): number {
  if (sumA === 0 || sumB === 0) return Number.NaN;
  let distance = 0;
  for (let i = 0; i < a.length; i++) distance += Math.abs(a[i]! / sumA - b[i]! / sumB);
  return distance / 2;
}

/**
 * How far apart the groups' attention is (the consistency GAM-CT aims at): the mean over every pair
 * of groups of the total variation distance between their average maps. 0 when every group attends
 * alike; NaN with fewer than two maps, or when a map is all zero.
 */
export function meanPairwiseDistance(averageMaps: readonly ArrayLike<number>[]): number {
  if (averageMaps.length < 2) return Number.NaN;
  for (const map of averageMaps) checkSameSize(averageMaps[0]!, map);
  return meanDistanceOfChecked(averageMaps, averageMaps.map(checkMap));
}

/** meanPairwiseDistance of maps already checked (one size, finite, ≥ 0), given their sums. */
function meanDistanceOfChecked(maps: readonly ArrayLike<number>[], sums: readonly number[]): number {
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < maps.length; i++) {
    for (let j = i + 1; j < maps.length; j++) {
      total += distanceOfSums(maps[i]!, sums[i]!, maps[j]!, sums[j]!);
      pairs++;
    }
  }
  return pairs === 0 ? Number.NaN : total / pairs;
}

/**
 * `meanPairwiseDistance` of the groups' average maps (each map divided by its own maximum, as a
 * group's average map is) with a basic-bootstrap interval: each resample redraws every group's maps
 * with replacement and recomputes the distance.
 *
 * The distance between averages of a few noisy maps is biased upward (noise adds to |p − q| and
 * never cancels there), so the resampled distances sit above the estimate, and a percentile interval
 * can miss the estimate altogether. The basic interval [2d − q_hi, 2d − q_lo] reflects their spread
 * around the estimate instead, which also corrects for that bias; it is clipped to [0, 1], where the
 * distance lives. All-zero maps are left out, as the group statistics leave them out; fewer than two
 * groups with a map give NaN.
 */
export function pairwiseDistanceWithInterval(
  groupMaps: readonly (readonly ArrayLike<number>[])[],
  prng: Prng,
  resamples = 2000,
  confidence = 0.95,
): MeanWithInterval {
  checkResamples(resamples);
  checkConfidence(confidence);
  const groups = groupMaps.map(peakNormalised).filter((maps) => maps.length > 0);
  const none = { mean: Number.NaN, interval: { lower: Number.NaN, upper: Number.NaN } };
  if (groups.length < 2) return none;
  const pixels = groups[0]![0]!.length;
  if (groups.some((maps) => maps.some((map) => map.length !== pixels))) {
    throw new GabnError('internal', 'attention maps of different sizes compared', {
      expected: 'maps of one size',
    });
  }
  // The maps were checked once above: the resamples' sums of them need no check again.
  const distanceOf = (pick: (maps: readonly Float64Array[], k: number) => number) => {
    const sums = groups.map((maps) => {
      const sum = new Float64Array(pixels);
      for (let k = 0; k < maps.length; k++) {
        const map = maps[pick(maps, k)]!;
        for (let i = 0; i < pixels; i++) sum[i]! += map[i]!;
      }
      return sum;
    });
    return meanDistanceOfChecked(
      sums,
      sums.map((sum) => sum.reduce((a, b) => a + b, 0)),
    );
  };
  const estimate = distanceOf((_, k) => k);
  const distances = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) distances[b] = distanceOf((maps) => prng.int(0, maps.length - 1));
  const { lower, upper } = basicInterval(estimate, distances, confidence);
  const clip = (v: number) => Math.min(1, Math.max(0, v));
  return { mean: estimate, interval: { lower: clip(lower), upper: clip(upper) } };
}

/** A group's maps, each divided by its own maximum; all-zero maps left out. */
function peakNormalised(maps: readonly ArrayLike<number>[]): Float64Array[] {
  return maps.flatMap((map) => {
    checkMap(map);
    let max = 0;
    for (let i = 0; i < map.length; i++) max = Math.max(max, map[i]!);
    if (max === 0) return [];
    return [Float64Array.from(map, (v) => v / max)];
  });
}
