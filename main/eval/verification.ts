/**
 * The verification protocol of insightface (recognition/arcface_torch/eval/verification.py,
 * `calculate_roc` and `calculate_accuracy`), which the paper and RFW use: squared Euclidean distance
 * between L2-normalised embeddings, candidate thresholds np.arange(0, 4, 0.01), 10 contiguous folds;
 * for each fold the threshold with the best accuracy on the other folds (the first of equal maxima,
 * as np.argmax) is applied to the held-out fold, and the accuracy is the mean over the folds.
 *
 * A pair is predicted "same" when `distance < threshold` (np.less), never `<=`.
 *
 * The work is done on counts: each distance is placed once in the bin of thresholds it lies below, so
 * one fold costs O(pairs + thresholds) rather than a pass over the pairs for each of 400 thresholds.
 * That is what lets the bootstrap rerun the whole protocol a thousand times.
 */
import { GabnError } from '../base/errors.ts';

/** Number of candidate thresholds: len(np.arange(0, 4, 0.01)). */
export const THRESHOLD_COUNT = 400;

/**
 * np.arange(0, 4, 0.01). NumPy fills a float range as `start + i * delta` with
 * delta = (start + step) - start, which for start = 0 is exactly `i * 0.01` in float64 (not an
 * accumulated sum, and not i / 100: 35 * 0.01 = 0.35000000000000003 whereas 35 / 100 = 0.35).
 */
export function insightfaceThresholds(): Float64Array {
  const thresholds = new Float64Array(THRESHOLD_COUNT);
  for (let i = 0; i < THRESHOLD_COUNT; i++) thresholds[i] = 0 + i * 0.01;
  return thresholds;
}

export const INSIGHTFACE_THRESHOLDS: Float64Array = insightfaceThresholds();

/** Pairs to verify: a distance and a same-identity flag per pair, and optionally its fold. */
export interface VerificationPairs {
  readonly distances: Float64Array;
  /** 1 for a genuine (same identity) pair, 0 for an impostor pair. */
  readonly same: Uint8Array;
  /** Fold index 0..K-1 of each pair (RFW pairs files carry 10 folds). Absent: contiguous KFold. */
  readonly folds?: Int32Array;
}

export interface VerificationResult {
  /** Mean over folds of the held-out accuracy, as a fraction (np.mean(accuracy)). */
  readonly accuracy: number;
  /** Held-out accuracy of each fold, as a fraction. */
  readonly foldAccuracies: Float64Array;
  /** Index into the thresholds of each fold's best threshold (chosen on the other folds). */
  readonly foldThresholdIndices: Int32Array;
  /** The best threshold of each fold. */
  readonly foldThresholds: Float64Array;
  /** Pairs in each held-out fold. */
  readonly foldSizes: Int32Array;
  /** Per threshold, the held-out TPR and FPR averaged over folds (insightface's tpr, fpr). */
  readonly tpr: Float64Array;
  readonly fpr: Float64Array;
}

/**
 * sklearn KFold(n_splits, shuffle=False): contiguous blocks, the first n % n_splits of them one pair
 * larger than the rest.
 */
export function kFoldAssignment(pairCount: number, splits = 10): Int32Array {
  if (!Number.isInteger(splits) || splits < 2) {
    throw new GabnError('usage', `the number of folds must be an integer >= 2, got ${splits}`);
  }
  if (pairCount < splits) {
    throw new GabnError('dataset', `${pairCount} pairs cannot be split into ${splits} folds`, {
      expected: `at least ${splits} pairs`,
    });
  }
  const folds = new Int32Array(pairCount);
  const base = Math.floor(pairCount / splits);
  const extra = pairCount % splits;
  let start = 0;
  for (let f = 0; f < splits; f++) {
    const size = base + (f < extra ? 1 : 0);
    folds.fill(f, start, start + size);
    start += size;
  }
  return folds;
}

/**
 * For each distance, the number of thresholds that are <= it: the pair is predicted "same" exactly at
 * the thresholds with index >= this bin (distance < thresholds[t] ⇔ t >= bin). Bins run 0..T.
 * NaN distances are rejected by the callers; +Infinity lands in bin T (never "same").
 */
export function thresholdBins(distances: Float64Array, thresholds: Float64Array): Uint16Array {
  const bins = new Uint16Array(distances.length);
  const count = thresholds.length;
  for (let i = 0; i < distances.length; i++) {
    const d = distances[i]!;
    // Binary search for the first threshold strictly greater than d.
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (thresholds[mid]! <= d) lo = mid + 1;
      else hi = mid;
    }
    bins[i] = lo;
  }
  return bins;
}

/** Number of folds named by a fold index array (max + 1), with every fold required to be non-empty. */
export function foldCount(folds: Int32Array): number {
  let max = -1;
  for (let i = 0; i < folds.length; i++) {
    const f = folds[i]!;
    if (!Number.isInteger(f) || f < 0) throw new GabnError('internal', `fold index ${f} is not >= 0`);
    if (f > max) max = f;
  }
  const sizes = new Int32Array(max + 1);
  for (let i = 0; i < folds.length; i++) sizes[folds[i]!]!++;
  if (max < 1) throw new GabnError('dataset', 'the verification protocol needs at least 2 folds');
  for (let f = 0; f <= max; f++) {
    if (sizes[f] === 0)
      throw new GabnError('dataset', `fold ${f} has no pairs`, { expected: 'folds 0..K-1, each non-empty' });
  }
  return max + 1;
}

/**
 * Per-fold counts by threshold bin. `weights` (a multiplicity per pair, as a bootstrap resample gives)
 * defaults to 1 for every pair. Layout: [fold][bin] in one array of K * (T + 1) entries.
 */
export interface BinnedCounts {
  readonly foldCount: number;
  readonly binCount: number;
  readonly genuine: Float64Array;
  readonly impostor: Float64Array;
}

export function binCounts(
  bins: Uint16Array,
  same: Uint8Array,
  folds: Int32Array,
  foldTotal: number,
  binCount: number,
  weights?: Uint32Array,
): BinnedCounts {
  const genuine = new Float64Array(foldTotal * binCount);
  const impostor = new Float64Array(foldTotal * binCount);
  for (let i = 0; i < bins.length; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    if (w === 0) continue;
    const at = folds[i]! * binCount + bins[i]!;
    if (same[i]) genuine[at]! += w;
    else impostor[at]! += w;
  }
  return { foldCount: foldTotal, binCount, genuine, impostor };
}

/**
 * The 10-fold protocol on binned counts. Returns the held-out accuracy of each fold and the index of
 * its best threshold; `rates` also fills the fold-averaged TPR/FPR (skipped by the bootstrap).
 */
export function foldAccuracies(
  counts: BinnedCounts,
  thresholdCount: number,
  rates?: { tpr: Float64Array; fpr: Float64Array },
): { accuracies: Float64Array; bestIndices: Int32Array; sizes: Int32Array } {
  const { foldCount: k, binCount, genuine, impostor } = counts;
  const accuracies = new Float64Array(k);
  const bestIndices = new Int32Array(k);
  const sizes = new Int32Array(k);
  // correct[f][t] = genuine pairs with bin <= t (predicted same) + impostor pairs with bin > t.
  const correct = new Float64Array(k * thresholdCount);
  const genuineBelow = new Float64Array(k * thresholdCount);
  const impostorBelow = new Float64Array(k * thresholdCount);
  const genuineTotal = new Float64Array(k);
  const impostorTotal = new Float64Array(k);
  for (let f = 0; f < k; f++) {
    let g = 0;
    let m = 0;
    for (let b = 0; b < binCount; b++) {
      g += genuine[f * binCount + b]!;
      m += impostor[f * binCount + b]!;
      if (b < thresholdCount) {
        genuineBelow[f * thresholdCount + b] = g;
        impostorBelow[f * thresholdCount + b] = m;
      }
    }
    genuineTotal[f] = g;
    impostorTotal[f] = m;
    sizes[f] = g + m;
    for (let t = 0; t < thresholdCount; t++) {
      correct[f * thresholdCount + t] =
        genuineBelow[f * thresholdCount + t]! + (m - impostorBelow[f * thresholdCount + t]!);
    }
  }
  const allCorrect = new Float64Array(thresholdCount);
  for (let f = 0; f < k; f++) {
    for (let t = 0; t < thresholdCount; t++) allCorrect[t]! += correct[f * thresholdCount + t]!;
  }
  for (let f = 0; f < k; f++) {
    // Training accuracy (tp + tn) / n_train has the same n for every threshold, so the first maximum
    // of the correct count is np.argmax of the accuracy.
    let best = 0;
    let bestCorrect = -1;
    for (let t = 0; t < thresholdCount; t++) {
      const c = allCorrect[t]! - correct[f * thresholdCount + t]!;
      if (c > bestCorrect) {
        bestCorrect = c;
        best = t;
      }
    }
    bestIndices[f] = best;
    accuracies[f] = correct[f * thresholdCount + best]! / sizes[f]!;
  }
  if (rates !== undefined) {
    rates.tpr.fill(0);
    rates.fpr.fill(0);
    // np.mean(tprs, 0): row-by-row accumulation over the folds, then division by K.
    for (let f = 0; f < k; f++) {
      for (let t = 0; t < thresholdCount; t++) {
        const tp = genuineBelow[f * thresholdCount + t]!;
        const fp = impostorBelow[f * thresholdCount + t]!;
        rates.tpr[t]! += genuineTotal[f] === 0 ? 0 : tp / genuineTotal[f]!;
        rates.fpr[t]! += impostorTotal[f] === 0 ? 0 : fp / impostorTotal[f]!;
      }
    }
    for (let t = 0; t < thresholdCount; t++) {
      rates.tpr[t] = rates.tpr[t]! / k;
      rates.fpr[t] = rates.fpr[t]! / k;
    }
  }
  return { accuracies, bestIndices, sizes };
}

/**
 * NumPy's sum of a contiguous float64 vector (pairwise summation with an 8-way unrolled block), so
 * that the mean over folds is bit-identical to np.mean(accuracy): for 10 folds it is
 * ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7)) + a8 + a9, not the left-to-right sum.
 */
export function numpySum(values: ArrayLike<number>): number {
  return pairwiseSum(values, 0, values.length);
}

function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[start + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j]! += a[start + i + j]!;
    }
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** Checks the inputs of the protocol and returns the fold index of every pair. */
export function resolveFolds(pairs: VerificationPairs, splits = 10): Int32Array {
  const n = pairs.distances.length;
  if (pairs.same.length !== n) {
    throw new GabnError('internal', `${n} distances but ${pairs.same.length} same flags`);
  }
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(pairs.distances[i]!)) {
      throw new GabnError('dataset', `pair ${i + 1} has a distance that is not a number`);
    }
  }
  if (pairs.folds === undefined) return kFoldAssignment(n, splits);
  if (pairs.folds.length !== n)
    throw new GabnError('internal', `${n} distances but ${pairs.folds.length} folds`);
  return pairs.folds;
}

/** insightface's calculate_roc on precomputed distances: per-fold accuracy and thresholds, TPR/FPR. */
export function verify(
  pairs: VerificationPairs,
  thresholds: Float64Array = INSIGHTFACE_THRESHOLDS,
): VerificationResult {
  const folds = resolveFolds(pairs);
  const k = foldCount(folds);
  const bins = thresholdBins(pairs.distances, thresholds);
  const counts = binCounts(bins, pairs.same, folds, k, thresholds.length + 1);
  const tpr = new Float64Array(thresholds.length);
  const fpr = new Float64Array(thresholds.length);
  const { accuracies, bestIndices, sizes } = foldAccuracies(counts, thresholds.length, { tpr, fpr });
  return {
    accuracy: numpySum(accuracies) / k,
    foldAccuracies: accuracies,
    foldThresholdIndices: bestIndices,
    foldThresholds: Float64Array.from(bestIndices, (t) => thresholds[t]!),
    foldSizes: sizes,
    tpr,
    fpr,
  };
}
