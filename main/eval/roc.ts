/**
 * ROC and DET curves of one group, and TAR at fixed FAR values. A pair is a match when
 * `distance < threshold`; FMR (= FAR) counts impostor matches, FNMR genuine non-matches, TAR = 1 − FNMR.
 *
 * The full curve has one point per distinct distance (thousands); a plot needs about 200. The points
 * kept are the thresholds at ~100 impostor ranks spaced evenly on a log scale (so the low-FMR end a
 * DET plot stretches out stays detailed) and at ~100 genuine ranks spaced evenly (the FNMR axis),
 * merged in threshold order. Every kept point is exact, not interpolated.
 */
import { thresholdAtFmr } from './operating-point.ts';

export interface RocCurve {
  /** Ascending thresholds; each point is the error rates when `distance < threshold` is a match. */
  readonly thresholds: number[];
  readonly fmr: number[];
  readonly fnmr: number[];
  /** 1 − FNMR, for ROC plots. */
  readonly tar: number[];
}

function sortedValues(distances: Float64Array, same: Uint8Array, genuine: boolean): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < distances.length; i++) if (Boolean(same[i]) === genuine) out.push(distances[i]!);
  return Float64Array.from(out).sort();
}

/** Number of values in ascending `sorted` that are strictly below `x`. */
export function countBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function rocCurve(distances: Float64Array, same: Uint8Array, points = 200): RocCurve {
  const impostors = sortedValues(distances, same, false);
  const genuines = sortedValues(distances, same, true);
  const candidates = new Set<number>();
  const half = Math.max(2, Math.floor(points / 2));
  if (impostors.length > 0) {
    // Ranks 1 .. N on a log scale: FMR from 1/N to 1.
    const n = impostors.length;
    for (let j = 0; j < half; j++) {
      const rank = Math.round(n ** (j / (half - 1)));
      candidates.add(impostors[Math.min(n - 1, rank - 1)]!);
    }
    candidates.add(impostors[0]!);
  }
  if (genuines.length > 0) {
    const n = genuines.length;
    for (let j = 0; j < half; j++) candidates.add(genuines[Math.round((j * (n - 1)) / (half - 1))]!);
  }
  const thresholds = [...candidates].sort((a, b) => a - b);
  const fmr = thresholds.map((t) =>
    impostors.length === 0 ? 0 : countBelow(impostors, t) / impostors.length,
  );
  const fnmr = thresholds.map((t) =>
    genuines.length === 0 ? 0 : (genuines.length - countBelow(genuines, t)) / genuines.length,
  );
  return { thresholds, fmr, fnmr, tar: fnmr.map((v) => 1 - v) };
}

export interface TarAtFar {
  /** The FAR asked for. */
  readonly far: number;
  /** The group's own threshold with FAR <= the target (see operating-point.ts). */
  readonly threshold: number;
  /** FAR achieved at that threshold (below the target when distances tie). */
  readonly achievedFar: number;
  readonly tar: number;
}

/**
 * TAR at a FAR, the threshold set on the group's own impostors. `order` lists the impostor indices
 * sorted by distance; `weights` are bootstrap multiplicities (1 when absent).
 */
export function tarAtFar(
  distances: Float64Array,
  same: Uint8Array,
  order: Int32Array,
  far: number,
  weights?: Uint32Array,
): TarAtFar {
  const threshold = thresholdAtFmr(distances, order, far, weights);
  let genuines = 0;
  let accepted = 0;
  let impostors = 0;
  let falseAccepts = 0;
  for (let i = 0; i < distances.length; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    const match = distances[i]! < threshold;
    if (same[i]) {
      genuines += w;
      if (match) accepted += w;
    } else {
      impostors += w;
      if (match) falseAccepts += w;
    }
  }
  return { far, threshold, achievedFar: falseAccepts / impostors, tar: accepted / genuines };
}
