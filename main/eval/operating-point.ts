/**
 * Operating points set by a target false match rate (FMR), as NIST FRVT's demographic reports do:
 * one threshold is fixed on a pool of impostor distances, then every group's FMR and FNMR are read at
 * that same threshold. As in the verification protocol a pair is declared a match when
 * `distance < threshold`.
 *
 * Threshold rule: with N impostor pairs, at most k = ⌊target · N⌋ may match, so the threshold is the
 * (k+1)-th smallest impostor distance s[k]: exactly the impostors strictly below it match, and no
 * larger threshold keeps FMR <= target. Ties at s[k] can make the achieved FMR lower than the
 * target; k >= N (a target of 1) gives +Infinity. Every pair may carry a weight (its multiplicity in a
 * bootstrap resample), so the same code serves point estimates and resamples.
 */

/** ⌊target · N⌋, guarded against products such as 0.29 · 100 = 28.999999999999996. */
export function allowedFalseMatches(target: number, impostorWeight: number): number {
  return Math.floor(target * impostorWeight + 1e-9);
}

/**
 * The threshold at a target FMR from impostor distances visited in ascending order (`order` indexes
 * into `distances`), each with weight `weights[i]` (1 when absent).
 */
export function thresholdAtFmr(
  distances: Float64Array,
  order: Int32Array,
  target: number,
  weights?: Uint32Array,
): number {
  let total = 0;
  if (weights === undefined) total = order.length;
  else for (let j = 0; j < order.length; j++) total += weights[order[j]!]!;
  const k = allowedFalseMatches(target, total);
  let cumulative = 0;
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    cumulative += weights === undefined ? 1 : weights[i]!;
    if (cumulative > k) return distances[i]!;
  }
  return Number.POSITIVE_INFINITY;
}

export interface ErrorRates {
  /** Impostor pairs with distance < threshold, over all impostor pairs. */
  readonly fmr: number;
  /** Genuine pairs with distance >= threshold, over all genuine pairs. */
  readonly fnmr: number;
  /** The counts behind the rates (weighted counts in a bootstrap resample). */
  readonly falseMatches: number;
  readonly impostors: number;
}

/** FMR and FNMR of one group at a threshold; NaN for a rate whose denominator is empty. */
export function errorRatesAt(
  distances: Float64Array,
  same: Uint8Array,
  threshold: number,
  weights?: Uint32Array,
): ErrorRates {
  let impostors = 0;
  let falseMatches = 0;
  let genuines = 0;
  let falseNonMatches = 0;
  for (let i = 0; i < distances.length; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    const match = distances[i]! < threshold;
    if (same[i]) {
      genuines += w;
      if (!match) falseNonMatches += w;
    } else {
      impostors += w;
      if (match) falseMatches += w;
    }
  }
  return { fmr: falseMatches / impostors, fnmr: falseNonMatches / genuines, falseMatches, impostors };
}

/** Indices of the impostor pairs (same = 0) sorted by distance, ties in index order. */
export function impostorOrder(distances: Float64Array, same: Uint8Array): Int32Array {
  const idx: number[] = [];
  for (let i = 0; i < distances.length; i++) if (!same[i]) idx.push(i);
  idx.sort((a, b) => distances[a]! - distances[b]! || a - b);
  return Int32Array.from(idx);
}
