import { describe, expect, it } from 'vitest';
import { groupAttention, massFraction, normalisedEntropy } from '../../../main/eval/attention-stats.ts';

const HW = 112 * 112;

describe('per-image attention statistics', () => {
  it('a uniform map: half the pixels hold half the mass, entropy 1', () => {
    for (const v of [1, 0.3, 7e-18]) {
      const map = new Float32Array(HW).fill(v);
      expect(massFraction(map)).toBe(0.5);
      expect(normalisedEntropy(map)).toBeCloseTo(1, 12);
    }
  });

  it('a single spike: one pixel holds all, entropy 0', () => {
    const map = new Float32Array(HW);
    map[5000] = 0.8;
    expect(massFraction(map)).toBe(1 / HW);
    expect(normalisedEntropy(map)).toBe(0);
  });

  it('a hand-made map', () => {
    // Sorted 4, 3, 2, 1 (total 10): 4 < 5, 4 + 3 ≥ 5, so k = 2 of 4 pixels; share 0.9: 4+3+2 = 9 ≥ 9.
    const map = [1, 4, 2, 3];
    expect(massFraction(map)).toBe(0.5);
    expect(massFraction(map, 0.9)).toBe(0.75);
    expect(massFraction(map, 0.35)).toBe(0.25);
    const p = [0.1, 0.4, 0.2, 0.3];
    expect(normalisedEntropy(map)).toBeCloseTo(-p.reduce((s, q) => s + q * Math.log(q), 0) / Math.log(4), 14);
    // Scale does not matter.
    expect(massFraction(map.map((v) => v * 1e-9))).toBe(0.5);
    expect(normalisedEntropy(map.map((v) => v * 1e-9))).toBeCloseTo(normalisedEntropy(map), 12);
  });

  it('an all-zero map has no mass to share (NaN); bad values are refused', () => {
    expect(massFraction([0, 0, 0])).toBeNaN();
    expect(normalisedEntropy([0, 0, 0])).toBeNaN();
    expect(() => massFraction([1, -1])).toThrow(/-1 at pixel 1/);
    expect(() => normalisedEntropy([1, Number.NaN])).toThrow(/NaN/);
    expect(() => massFraction([1, 2], 0)).toThrow(/share/);
  });
});

describe('per-group statistics', () => {
  it('a group: means with intervals, the average of max-normalised maps, empty maps left out', () => {
    const uniform = new Float32Array(16).fill(2);
    const spike = new Float32Array(16);
    spike[3] = 5;
    const empty = new Float32Array(16);
    const stats = groupAttention([uniform, spike, empty], { seed: 4, resamples: 500 });
    expect(stats.count).toBe(3);
    expect(stats.empty).toBe(1);
    expect(stats.massFraction.mean).toBeCloseTo((0.5 + 1 / 16) / 2, 14);
    expect(stats.entropy.mean).toBeCloseTo(0.5, 14);
    expect(stats.massFraction.interval.lower).toBeGreaterThanOrEqual(1 / 16);
    expect(stats.massFraction.interval.upper).toBeLessThanOrEqual(0.5);
    // Each map divided by its own maximum: (1 + 0) / 2 everywhere, (1 + 1) / 2 at the spike.
    const expected = new Float32Array(16).fill(0.5);
    expected[3] = 1;
    expect(Array.from(stats.averageMap)).toEqual(Array.from(expected));
    expect(groupAttention([uniform, spike, empty], { seed: 4, resamples: 500 })).toEqual(stats);
    expect(() => groupAttention([uniform, new Float32Array(4).fill(1)])).toThrow(/map 1 has 4 pixels/);
  });
});
