import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { createPrng } from '../../../main/base/random.ts';
import { computeFigures, type GroupPairs, prepareAudit } from '../../../main/eval/audit-figures.ts';
import {
  bootstrapFigures,
  drawResample,
  pairedBootstrap,
  resamplingStrata,
} from '../../../main/eval/bootstrap.ts';
import { verify } from '../../../main/eval/verification.ts';

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** A group of n pairs, alternating genuine/impostor, distances N(genuine or impostor mean, σ²). */
function syntheticGroup(
  name: string,
  n: number,
  seed: number,
  genuineMean = 0.9,
  impostorMean = 1.5,
  sigma = 0.3,
): GroupPairs {
  const random = createPrng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const same = Uint8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const distances = Float64Array.from(same, (s) => (s ? genuineMean : impostorMean) + sigma * normal());
  return { name, distances, same };
}

describe('stratified resampling', () => {
  it('keeps every group, fold and genuine/impostor count', () => {
    const audit = prepareAudit([syntheticGroup('a', 103, 1), syntheticGroup('b', 240, 2)]);
    const strata = resamplingStrata(audit);
    expect(strata.length).toBe(2 * 10 * 2);
    const weights = new Uint32Array(audit.pairCount);
    drawResample(strata, createPrng(5), weights);
    for (const stratum of strata) {
      let total = 0;
      for (const i of stratum) total += weights[i]!;
      expect(total).toBe(stratum.length);
    }
    // Figures on a resample keep the group sizes.
    const figures = computeFigures(audit, weights);
    expect(figures.groups.length).toBe(2);
  });

  it('unit weights give exactly the point estimates, and those match the protocol', () => {
    const groups = [syntheticGroup('a', 600, 3), syntheticGroup('b', 600, 4, 1.0)];
    const audit = prepareAudit(groups);
    const plain = computeFigures(audit);
    const ones = computeFigures(audit, new Uint32Array(audit.pairCount).fill(1));
    expect(ones).toEqual(plain);
    expect(plain.groups[0]!.accuracy).toBe(verify(groups[0]!).accuracy);
    expect(plain.groups[1]!.accuracy).toBe(verify(groups[1]!).accuracy);
  });
});

describe('bootstrap', () => {
  const audit = prepareAudit([
    syntheticGroup('a', 600, 11),
    syntheticGroup('b', 600, 12, 1.0),
    syntheticGroup('c', 600, 13, 0.95),
  ]);

  it('is deterministic for a seed and differs across seeds', async () => {
    const one = await bootstrapFigures(audit, { resamples: 200, seed: 42 });
    const two = await bootstrapFigures(audit, { resamples: 200, seed: 42 });
    const other = await bootstrapFigures(audit, { resamples: 200, seed: 43 });
    expect(two.intervals).toEqual(one.intervals);
    expect(other.intervals).not.toEqual(one.intervals);
    const std = one.names.indexOf('std');
    const point = computeFigures(audit).paper.std;
    expect(one.intervals[std]!.lower).toBeLessThan(point);
    expect(one.intervals[std]!.upper).toBeGreaterThan(point);
  });

  it('reports progress and stops when aborted', async () => {
    const seen: number[] = [];
    await bootstrapFigures(audit, { resamples: 30, onProgress: (done) => seen.push(done) });
    expect(seen).toEqual([10, 20, 30]);
    const controller = new AbortController();
    controller.abort(new GabnError('cancelled', 'stop'));
    await expect(bootstrapFigures(audit, { resamples: 30, signal: controller.signal })).rejects.toThrow(
      'stop',
    );
  });

  it('95% intervals cover the true accuracy and TAR@FAR=0.1 about 95% of the time', async () => {
    // Genuine N(0.9, 0.3²), impostor N(1.5, 0.3²), balanced: the best threshold is 1.2 and the true
    // accuracy Φ(1); TAR at FAR 0.1 is Φ((1.5 − 0.3·z₀.₉ − 0.9)/0.3) with z₀.₉ = 1.2815516.
    const trueAccuracy = 100 * phi(1);
    const trueTar = phi((1.5 - 0.3 * 1.2815516 - 0.9) / 0.3);
    const datasets = 40;
    let accuracyCovered = 0;
    let tarCovered = 0;
    let width = 0;
    for (let k = 0; k < datasets; k++) {
      const data = prepareAudit([
        syntheticGroup('x', 600, 1000 + 2 * k),
        syntheticGroup('y', 600, 1001 + 2 * k),
      ]);
      const boot = await bootstrapFigures(data, { resamples: 200, seed: k + 1 });
      for (const g of ['x', 'y']) {
        const acc = boot.intervals[boot.names.indexOf(`group.${g}.accuracy`)]!;
        const tar = boot.intervals[boot.names.indexOf(`group.${g}.tar@far=0.1`)]!;
        if (acc.lower <= trueAccuracy && trueAccuracy <= acc.upper) accuracyCovered++;
        if (tar.lower <= trueTar && trueTar <= tar.upper) tarCovered++;
        width += acc.upper - acc.lower;
      }
    }
    const intervals = 2 * datasets;
    // 80 intervals at 95%: fewer than 68 covered would be a 4-sigma event.
    expect(accuracyCovered).toBeGreaterThanOrEqual(68);
    expect(tarCovered).toBeGreaterThanOrEqual(68);
    // Not trivially wide: the binomial width 2·1.96·√(p(1−p)/600) is about 5.8 points.
    const binomial = 2 * 1.96 * 100 * Math.sqrt((phi(1) * (1 - phi(1))) / 600);
    expect(width / intervals).toBeGreaterThan(0.6 * binomial);
    expect(width / intervals).toBeLessThan(1.6 * binomial);
  });
});

describe('paired bootstrap', () => {
  const base = [
    syntheticGroup('a', 600, 21, 0.8),
    syntheticGroup('b', 600, 22, 1.0),
    syntheticGroup('c', 600, 23, 1.1),
  ];

  it('B identical to A: every difference is 0, p = 1', async () => {
    const a = prepareAudit(base);
    const result = await pairedBootstrap(a, prepareAudit(base), { resamples: 100, seed: 3 });
    expect(result.std.observed).toBe(0);
    expect(result.std.interval).toEqual({ lower: 0, upper: 0 });
    expect(result.std.pValue).toBe(1);
    expect(result.ser.pValue).toBe(1);
  });

  it('B that narrows the gap between groups is found fairer', async () => {
    // B: the same genuine noise, with the group means pulled together.
    const shift = [0.1, 0, -0.1];
    const fairer = base.map((g, k) => ({
      ...g,
      distances: Float64Array.from(g.distances, (d, i) => (g.same[i] ? d + shift[k]! : d)),
    }));
    const result = await pairedBootstrap(prepareAudit(base), prepareAudit(fairer), {
      resamples: 300,
      seed: 4,
    });
    expect(result.std.observed).toBeLessThan(0);
    expect(result.std.interval.upper).toBeLessThan(0);
    expect(result.std.pValue).toBeLessThan(0.05);
    expect(result.ser.observed).toBeLessThan(0);
    // And the reverse comparison is not.
    const reverse = await pairedBootstrap(prepareAudit(fairer), prepareAudit(base), {
      resamples: 300,
      seed: 4,
    });
    expect(reverse.std.pValue).toBeGreaterThan(0.95);
  });

  it("each group's accuracy difference is B − A on the very resamples the separate bootstraps draw", async () => {
    const shift = [0.1, 0, -0.1];
    const fairer = base.map((g, k) => ({
      ...g,
      distances: Float64Array.from(g.distances, (d, i) => (g.same[i] ? d + shift[k]! : d)),
    }));
    const a = prepareAudit(base);
    const b = prepareAudit(fairer);
    const paired = await pairedBootstrap(a, b, { resamples: 200, seed: 9 });
    // Same strata and seed: the k-th resample of each separate bootstrap is the paired one's k-th.
    const [ra, rb] = [
      await bootstrapFigures(a, { resamples: 200, seed: 9 }),
      await bootstrapFigures(b, { resamples: 200, seed: 9 }),
    ];
    base.forEach((g, k) => {
      const slot = ra.names.indexOf(`group.${g.name}.accuracy`);
      const diffs = Float64Array.from(ra.replicates[slot]!, (va, r) => rb.replicates[slot]![r]! - va);
      const sorted = [...diffs].sort((x, y) => x - y);
      const at = (q: number) => {
        const h = (sorted.length - 1) * q;
        const lo = Math.floor(h);
        return sorted[lo]! + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? 0) - sorted[lo]!);
      };
      const group = paired.groups[k]!;
      expect(group.name).toBe(g.name);
      expect(group.observed).toBeCloseTo(100 * (verify(fairer[k]!).accuracy - verify(g).accuracy), 10);
      expect(group.interval.lower).toBeCloseTo(at(0.025), 10);
      expect(group.interval.upper).toBeCloseTo(at(0.975), 10);
    });
    // Pulling group a's genuine pairs away and c's closer moves the accuracies apart in that direction.
    expect(paired.groups[0]!.observed).toBeLessThan(0);
    expect(paired.groups[2]!.observed).toBeGreaterThan(0);
  });

  it('refuses score sets that are not on the same pairs', async () => {
    const other = base.map((g) => ({ ...g, same: Uint8Array.from(g.same, (s, i) => (i === 5 ? 1 - s : s)) }));
    await expect(pairedBootstrap(prepareAudit(base), prepareAudit(other), { resamples: 10 })).rejects.toThrow(
      /not on the same pairs/,
    );
  });
});
