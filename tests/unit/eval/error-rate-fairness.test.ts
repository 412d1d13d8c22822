/** FDR, GARBE, max/min ratios, global thresholds, TAR@FAR and ROC points on hand-computed examples. */
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { computeFigures, prepareAudit } from '../../../main/eval/audit-figures.ts';
import { maxMinRatio } from '../../../main/eval/disparity-ratios.ts';
import { fairnessDiscrepancyRate } from '../../../main/eval/fdr.ts';
import { garbe, giniCoefficient } from '../../../main/eval/garbe.ts';
import { errorRatesAt, impostorOrder, thresholdAtFmr } from '../../../main/eval/operating-point.ts';
import { rocCurve, tarAtFar } from '../../../main/eval/roc.ts';

describe('FDR (de Freitas Pereira & Marcel 2021)', () => {
  it('1 − (α·max|ΔFMR| + (1−α)·max|ΔFNMR|)', () => {
    // A = 0.004 − 0.001 = 0.003, B = 0.20 − 0.05 = 0.15: 1 − (0.0015 + 0.075) = 0.9235.
    expect(fairnessDiscrepancyRate([0.001, 0.002, 0.004], [0.05, 0.1, 0.2])).toBeCloseTo(0.9235, 12);
    // α = 1 looks only at FMR.
    expect(fairnessDiscrepancyRate([0.001, 0.002, 0.004], [0.05, 0.1, 0.2], 1)).toBeCloseTo(0.997, 12);
    expect(fairnessDiscrepancyRate([0.01, 0.01], [0.3, 0.3])).toBe(1);
  });
});

describe('GARBE (Howard et al. 2022)', () => {
  it('the corrected Gini coefficient n/(n−1) · ΣΣ|xi − xj| / (2n² x̄)', () => {
    // One group holds every error: exactly 1 thanks to the n/(n−1) correction.
    expect(giniCoefficient([1, 0, 0, 0])).toBeCloseTo(1, 15);
    expect(giniCoefficient([0.2, 0.2, 0.2])).toBe(0);
    expect(giniCoefficient([0, 0, 0])).toBe(0);
    // ΣΣ|xi − xj| = 2·(0.1+0.2+0.3+0.1+0.2+0.1) = 2; 2n²x̄ = 8; 4/3 · 2/8 = 1/3.
    expect(giniCoefficient([0.1, 0.2, 0.3, 0.4])).toBeCloseTo(1 / 3, 14);
    // Two groups 0.1 and 0.3: ΣΣ = 0.4, 2n²x̄ = 1.6, correction 2/1: 0.5.
    expect(giniCoefficient([0.1, 0.3])).toBeCloseTo(0.5, 14);
  });

  it('α·G(FMR) + (1−α)·G(FNMR)', () => {
    expect(garbe([0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0])).toBeCloseTo(2 / 3, 14);
    expect(garbe([0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0], 0.25)).toBeCloseTo(0.25 / 3 + 0.75, 14);
  });
});

describe('max/min ratios', () => {
  it('worst over best group, with the zero cases', () => {
    expect(maxMinRatio([0.01, 0.04, 0.02])).toBeCloseTo(4, 14);
    expect(maxMinRatio([0, 0.1])).toBe(Number.POSITIVE_INFINITY);
    expect(maxMinRatio([0, 0])).toBe(1);
  });
});

describe('thresholds at a target FMR', () => {
  const d = Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
  const impostors = new Uint8Array(10);
  const order = impostorOrder(d, impostors);

  it('allows ⌊target·N⌋ impostors strictly below the threshold', () => {
    expect(thresholdAtFmr(d, order, 0.2)).toBe(0.3);
    expect(errorRatesAt(d, impostors, 0.3).fmr).toBe(0.2);
    expect(thresholdAtFmr(d, order, 0.05)).toBe(0.1); // k = 0: nothing may match
    expect(thresholdAtFmr(d, order, 1)).toBe(Number.POSITIVE_INFINITY);
    // 0.29 · 100 = 28.999999999999996 must still allow 29.
    const hundred = Float64Array.from({ length: 100 }, (_, i) => i);
    expect(thresholdAtFmr(hundred, impostorOrder(hundred, new Uint8Array(100)), 0.29)).toBe(29);
  });

  it('ties at the threshold lower the achieved FMR below the target', () => {
    const tied = Float64Array.from([0.1, 0.2, 0.2, 0.2, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
    const t = thresholdAtFmr(tied, impostorOrder(tied, impostors), 0.2);
    expect(t).toBe(0.2);
    expect(errorRatesAt(tied, impostors, t).fmr).toBe(0.1);
  });

  it('weights act as repeated pairs', () => {
    const weights = Uint32Array.from([3, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    const repeated = Float64Array.from([0.1, 0.1, 0.1, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
    for (const target of [0.1, 0.2, 0.3, 0.35, 0.5]) {
      expect(thresholdAtFmr(d, order, target, weights)).toBe(
        thresholdAtFmr(repeated, impostorOrder(repeated, impostors), target),
      );
    }
  });

  it('one global threshold from the pooled impostors; per-group FMR and FNMR read at it', () => {
    // Group a: impostors 0.1..1.0 (10), genuines 0.05, 0.35. Group b: impostors 1.05..1.95, genuines 0.15, 1.5.
    const a = {
      name: 'a',
      distances: Float64Array.from([...d, 0.05, 0.35]),
      same: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]),
      folds: Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]),
    };
    const b = {
      name: 'b',
      distances: Float64Array.from([...d.map((v) => v + 0.95), 0.15, 1.5]),
      same: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]),
      folds: Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]),
    };
    const audit = prepareAudit([a, b], {
      targetFmrs: [0.25],
      tarFars: [0.1],
      alpha: 0.5,
      thresholds: Float64Array.from({ length: 400 }, (_, i) => i * 0.01),
    });
    const op = computeFigures(audit).operatingPoints[0]!;
    // 20 pooled impostors, k = 5: the 6th smallest is 0.6 (a's 0.1..0.5 lie below).
    expect(op.threshold).toBe(0.6);
    expect(op.pooledFmr).toBe(0.25);
    expect(Array.from(op.fmr)).toEqual([0.5, 0]);
    // a's genuines 0.05 and 0.35 are accepted; b's 1.5 is rejected.
    expect(Array.from(op.fnmr)).toEqual([0, 0.5]);
    expect(op.fdr).toBeCloseTo(1 - (0.5 * 0.5 + 0.5 * 0.5), 14);
    expect(op.garbe).toBeCloseTo(1, 14);
    expect(op.fmrRatio).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('TAR@FAR and ROC points', () => {
  it('TAR at the group threshold for a FAR', () => {
    const distances = Float64Array.from([
      0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.15, 0.25, 0.65, 0.95,
    ]);
    const same = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    const t = tarAtFar(distances, same, impostorOrder(distances, same), 0.1);
    // k = 1: threshold 0.2, one impostor (0.1) accepted; genuines below 0.2: 0.15.
    expect(t).toEqual({ far: 0.1, threshold: 0.2, achievedFar: 0.1, tar: 0.25 });
  });

  it('ROC points are exact, ordered and about 200', () => {
    const random = createPrng(7);
    const next = () => random.next();
    const n = 5000;
    const same = Uint8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const distances = Float64Array.from(same, (v) => (v ? 0.8 : 1.4) + 0.4 * (next() - 0.5));
    const roc = rocCurve(distances, same, 200);
    expect(roc.thresholds.length).toBeGreaterThan(150);
    expect(roc.thresholds.length).toBeLessThanOrEqual(202);
    for (let j = 0; j < roc.thresholds.length; j++) {
      if (j > 0) {
        expect(roc.thresholds[j]!).toBeGreaterThan(roc.thresholds[j - 1]!);
        expect(roc.fmr[j]!).toBeGreaterThanOrEqual(roc.fmr[j - 1]!);
        expect(roc.fnmr[j]!).toBeLessThanOrEqual(roc.fnmr[j - 1]!);
      }
      const rates = errorRatesAt(distances, same, roc.thresholds[j]!);
      expect(roc.fmr[j]).toBe(rates.fmr);
      expect(roc.fnmr[j]).toBe(rates.fnmr);
      expect(roc.tar[j]).toBe(1 - rates.fnmr);
    }
    // The low-FMR end is covered: the first impostor ranks are all present.
    expect(roc.fmr[0]).toBe(0);
    expect(roc.fmr.filter((v) => v > 0 && v <= 0.01).length).toBeGreaterThan(20);
    expect(roc.fnmr[roc.fnmr.length - 1]).toBe(0);
  });
});
