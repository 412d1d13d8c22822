import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { l2Normalize, pairDistances, squaredDistance } from '../../../main/eval/pair-distances.ts';
import {
  foldCount,
  INSIGHTFACE_THRESHOLDS,
  kFoldAssignment,
  numpySum,
  thresholdBins,
  verify,
} from '../../../main/eval/verification.ts';

describe('insightface thresholds and folds', () => {
  it('thresholds are i * 0.01 (np.arange), which is not always i / 100', () => {
    expect(INSIGHTFACE_THRESHOLDS.length).toBe(400);
    expect(INSIGHTFACE_THRESHOLDS[0]).toBe(0);
    expect(INSIGHTFACE_THRESHOLDS[35]).toBe(35 * 0.01);
    // 35 * 0.01 = 0.35000000000000003, one ulp above the literal 0.35 = 35 / 100.
    expect(INSIGHTFACE_THRESHOLDS[35]).toBeGreaterThan(0.35);
    expect(INSIGHTFACE_THRESHOLDS[399]).toBe(399 * 0.01);
  });

  it('KFold gives the first n % 10 folds one extra pair, contiguously', () => {
    const folds = kFoldAssignment(37);
    const sizes = Array.from({ length: 10 }, (_, f) => folds.filter((v) => v === f).length);
    expect(sizes).toEqual([4, 4, 4, 4, 4, 4, 4, 3, 3, 3]);
    for (let i = 1; i < folds.length; i++) expect(folds[i]! - folds[i - 1]!).toBeGreaterThanOrEqual(0);
    expect(() => kFoldAssignment(9)).toThrow(GabnError);
    expect(() => foldCount(Int32Array.from([0, 0, 2]))).toThrow(/fold 1 has no pairs/);
  });

  it('a distance equal to a threshold is not below it (np.less)', () => {
    const bins = thresholdBins(Float64Array.from([0, 0.5, 35 * 0.01, 0.35, 4, 10]), INSIGHTFACE_THRESHOLDS);
    // 0 is below no threshold but those > 0: thresholds 1..399, so its bin is 1.
    expect(bins[0]).toBe(1);
    expect(bins[1]).toBe(51); // thresholds[50] = 0.5 is not > 0.5
    expect(bins[2]).toBe(36);
    // 0.35 < 35 * 0.01, so 0.35 is already below threshold 35: its bin is 35.
    expect(bins[3]).toBe(35);
    expect(bins[4]).toBe(400);
    expect(bins[5]).toBe(400);
  });

  it('numpySum adds 10 values pairwise as NumPy does', () => {
    const v = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    const pairwise = 0.1 + 0.2 + (0.3 + 0.4) + (0.5 + 0.6 + (0.7 + 0.8)) + 0.9 + 1.0;
    expect(numpySum(v)).toBe(pairwise);
    expect(numpySum([1, 2, 3])).toBe(6);
  });
});

describe('10-fold verification', () => {
  it('finds a perfect threshold on separable pairs, the first of the tied ones', () => {
    const n = 100;
    const same = Uint8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const distances = Float64Array.from(same, (s) => (s ? 0.5 : 1.5));
    const result = verify({ distances, same });
    expect(result.accuracy).toBe(1);
    // Every threshold in (0.5, 1.5] separates; the first is 0.51.
    expect(Array.from(result.foldThresholds)).toEqual(Array(10).fill(51 * 0.01));
    expect(result.foldSizes.reduce((a, b) => a + b, 0)).toBe(n);
  });

  it('applies the threshold chosen on the other folds to the held-out fold', () => {
    // 20 pairs in 2 explicit folds. Fold 1 prefers a low threshold, fold 0 a high one.
    const distances = Float64Array.from([
      0.2, 0.2, 0.2, 0.2, 0.2, 1.8, 1.8, 1.8, 1.8, 1.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.6, 1.6, 1.6, 1.6, 1.6,
    ]);
    const same = Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    const folds = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const result = verify({ distances, same, folds });
    // Fold 0 is held out: training fold 1 is separated first by threshold 1.01 (1.0 < 1.01).
    expect(result.foldThresholdIndices[0]).toBe(101);
    // Fold 1 held out: training fold 0 separated first at 0.21.
    expect(result.foldThresholdIndices[1]).toBe(21);
    // 1.01 separates fold 0 perfectly; 0.21 rejects all of fold 1's genuine pairs (distance 1.0).
    expect(Array.from(result.foldAccuracies)).toEqual([1, 0.5]);
    expect(result.accuracy).toBe(0.75);
  });
});

describe('embedding helpers', () => {
  it('l2Normalize and squaredDistance', () => {
    expect(Array.from(l2Normalize(Float32Array.from([3, 4])))).toEqual([0.6, 0.8]);
    expect(Array.from(l2Normalize(Float32Array.from([0, 0])))).toEqual([0, 0]);
    expect(squaredDistance([1, 2, 3], [1, 0, 5])).toBe(8);
  });

  it('pair distances sum the flip embeddings before normalising, and equal 2 − 2 cos', () => {
    const first = { embeddings: Float32Array.from([1, 0, 0, 2]), flipped: Float32Array.from([0, 1, 0, 2]) };
    const second = { embeddings: Float32Array.from([0, 1, 5, 0]) };
    const d = pairDistances(first, second, 2);
    // Pair 0: n(1,1) = (√½, √½) against (0, 1): 2 − 2·√½.
    expect(d[0]).toBeCloseTo(2 - Math.SQRT2, 14);
    // Pair 1: (0, 4) → (0, 1) against (1, 0): orthogonal, distance 2.
    expect(d[1]).toBeCloseTo(2, 14);
  });
});
