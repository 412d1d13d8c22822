/**
 * Reproduces the Avg, STD ("Fairness" column) and SER of every row of the paper's Tables 1-4 from the
 * per-group accuracies printed beside them, which establishes the definitions main/eval/fairness.ts
 * uses: STD is the sample standard deviation (divisor G − 1) and SER = max error / min error.
 *
 * How rounding is handled. Every printed number is rounded to two decimals, the per-group accuracies
 * included, so the accuracies the authors computed from lie anywhere in [a − 0.005, a + 0.005]. A
 * definition reproduces a printed value p when the exact range of the statistic over that box of
 * accuracies meets [p − 0.005, p + 0.005]. The ranges are computed exactly, not sampled:
 * - STD is convex in the accuracies, so its maximum over the box is at one of the 16 corners; its
 *   minimum is min over m of Σ dist(m, [lo_i, hi_i])² / (G − 1) (for fixed centre m the best point
 *   of each interval is m clipped to it), a convex piecewise quadratic minimised piece by piece;
 * - SER ranges over [max(1, (Emax − 0.005)/(Emin + 0.005)), (Emax + 0.005)/(Emin − 0.005)];
 * - Avg is linear: [avg − 0.005, avg + 0.005].
 * Computing directly from the printed accuracies and rounding to two decimals (a value exactly
 * halfway may round either way) reproduces most values; the rows where that direct value is 0.01
 * away are listed below and asserted to be exactly those.
 *
 * Printed values no definition can give (asserted as such, not skipped):
 * - Table 4 "GAM-SFRE" SER 1.39: every accuracy vector that rounds to (96.16, 95.43, 94.63, 95.08)
 *   gives an SER in [1.3953, 1.4016], which rounds to 1.40 (truncation would give 1.39, but
 *   truncation contradicts the Baseline row's 1.11 and 1.65).
 * - Table 2 "RL-RBN" Avg 94.64: its accuracies average 95.1925 (94.64 is the Baseline's average).
 * - Table 3 "60%" Avg 94.44: its accuracies average 94.41.
 * Avg is not a fairness figure, but it is asserted too so that a wrong mean would not go unnoticed.
 */
import { describe, expect, it } from 'vitest';
import {
  accuracyStd,
  averageAccuracy,
  paperFairness,
  skewedErrorRatio,
} from '../../../main/eval/fairness.ts';

interface Row {
  table: number;
  method: string;
  /** Caucasian, Indian, Asian, African. */
  acc: [number, number, number, number];
  avg: number;
  std: number;
  ser: number;
}

const row = (
  table: number,
  method: string,
  c: number,
  i: number,
  a: number,
  f: number,
  avg: number,
  std: number,
  ser: number,
): Row => ({
  table,
  method,
  acc: [c, i, a, f],
  avg,
  std,
  ser,
});

// Transcribed from the paper (Tables 1-4), in print order.
const ROWS: Row[] = [
  row(1, 'Baseline (ArcFace)', 97.37, 95.68, 94.55, 93.87, 95.37, 1.53, 2.33),
  row(1, 'M-RBN', 97.03, 95.58, 94.4, 95.18, 95.55, 1.1, 1.89),
  row(1, 'RL-RBN', 97.08, 95.63, 95.57, 94.87, 95.79, 0.93, 1.76),
  row(1, 'MBN', 96.87, 96.2, 95.63, 95.0, 95.93, 0.8, 1.6),
  row(1, 'GABN (Ours)', 97.21, 96.06, 95.73, 95.51, 96.13, 0.75, 1.6),
  row(2, 'Baseline (ArcFace)', 96.18, 94.67, 93.72, 93.98, 94.64, 1.11, 1.65),
  row(2, 'ACNN', 96.12, 94.55, 93.67, 94.0, 94.58, 1.08, 1.63),
  row(2, 'PFE', 96.38, 94.6, 94.27, 95.17, 95.11, 0.93, 1.58),
  row(2, 'DebFace', 95.95, 94.78, 94.33, 93.67, 94.68, 0.96, 1.56),
  row(2, 'GAC', 96.02, 94.22, 94.1, 94.12, 94.62, 0.93, 1.48),
  row(2, 'RL-RBN', 96.27, 94.68, 94.82, 95.0, 94.64, 0.73, 1.43),
  row(2, 'MBN', 96.25, 95.32, 94.85, 95.38, 95.45, 0.58, 1.37),
  row(2, 'GABN (Ours)', 95.78, 95.21, 94.51, 94.71, 95.05, 0.56, 1.3),
  row(3, 'Baseline', 96.18, 94.67, 93.72, 93.98, 94.64, 1.11, 1.65),
  row(3, 'confidence 60%', 95.21, 94.65, 93.73, 94.05, 94.44, 0.66, 1.31),
  row(3, 'confidence 70%', 96.23, 95.41, 94.66, 95.15, 95.36, 0.65, 1.42),
  row(3, 'confidence 75%', 96.13, 95.06, 94.45, 94.83, 95.12, 0.72, 1.43),
  row(3, 'confidence 80%', 95.61, 94.36, 93.58, 93.88, 94.36, 0.89, 1.46),
  row(4, 'Baseline (ArcFace-34)', 96.18, 94.67, 93.72, 93.98, 94.64, 1.11, 1.65),
  row(4, '+ Random Erase', 96.2, 95.4, 94.57, 94.57, 95.18, 0.78, 1.43),
  row(4, '+ confidence balance loss', 96.23, 95.41, 94.66, 95.15, 95.36, 0.65, 1.42),
  row(4, 'GAM-CT', 95.93, 95.2, 94.41, 94.9, 95.11, 0.63, 1.37),
  row(4, 'GAM-SFRE', 96.16, 95.43, 94.63, 95.08, 95.32, 0.64, 1.39),
  row(4, 'GABN (GAM)', 95.78, 95.21, 94.51, 94.71, 95.05, 0.56, 1.3),
];

const HALF = 0.005;
/** Float slack for comparisons at exactly half a unit in the last printed place. */
const EPS = 1e-9;
const key = (r: Row) => `Table ${r.table} ${r.method}`;

const INCONSISTENT_SER = ['Table 4 GAM-SFRE'];
const INCONSISTENT_AVG = ['Table 2 RL-RBN', 'Table 3 confidence 60%'];
/** Rows whose STD, computed from the printed accuracies and rounded, is 0.01 from the print. */
const STD_DIRECT_OFF_BY_ONE = [
  'Table 1 GABN (Ours)',
  'Table 2 Baseline (ArcFace)',
  'Table 2 ACNN',
  'Table 2 GAC',
  'Table 2 GABN (Ours)',
  'Table 3 Baseline',
  'Table 3 confidence 70%',
  'Table 4 Baseline (ArcFace-34)',
  'Table 4 + confidence balance loss',
  'Table 4 GAM-CT',
  'Table 4 GAM-SFRE',
  'Table 4 GABN (GAM)',
];
const SER_DIRECT_OFF_BY_ONE = [
  'Table 1 GABN (Ours)',
  'Table 2 Baseline (ArcFace)',
  'Table 3 Baseline',
  'Table 4 Baseline (ArcFace-34)',
  'Table 4 GAM-SFRE',
];

function populationStd(values: readonly number[]): number {
  const n = values.length;
  return accuracyStd(values) * Math.sqrt((n - 1) / n);
}

function corners(acc: readonly number[]): number[][] {
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << acc.length; mask++) {
    out.push(acc.map((a, i) => a + (mask & (1 << i) ? HALF : -HALF)));
  }
  return out;
}

/** Exact minimum over the box of Σ(x_i − x̄)²: min over m of Σ dist(m, [lo_i, hi_i])². */
function minSumSquares(acc: readonly number[]): number {
  const lo = acc.map((a) => a - HALF);
  const hi = acc.map((a) => a + HALF);
  const g = (m: number) => lo.reduce((s, l, i) => s + Math.max(0, l - m, m - hi[i]!) ** 2, 0);
  const breaks = [...lo, ...hi].sort((a, b) => a - b);
  let best = Math.min(...breaks.map(g));
  for (let p = 0; p + 1 < breaks.length; p++) {
    const a = breaks[p]!;
    const b = breaks[p + 1]!;
    const mid = (a + b) / 2;
    // Inside a piece the active intervals are fixed; g is a quadratic minimised at the mean of the
    // endpoints it is pulled towards.
    const ends: number[] = [];
    lo.forEach((l, i) => {
      if (hi[i]! < mid) ends.push(hi[i]!);
      else if (l > mid) ends.push(l);
    });
    if (ends.length === 0) return 0;
    const m = ends.reduce((s, e) => s + e, 0) / ends.length;
    if (m >= a && m <= b) best = Math.min(best, g(m));
  }
  return best;
}

function stdRange(acc: readonly number[], population: boolean): [number, number] {
  const n = acc.length;
  const divisor = population ? n : n - 1;
  const max = Math.max(...corners(acc).map((c) => (population ? populationStd(c) : accuracyStd(c))));
  return [Math.sqrt(minSumSquares(acc) / divisor), max];
}

function serRange(acc: readonly number[]): [number, number] {
  const errors = acc.map((a) => 100 - a);
  const emax = Math.max(...errors);
  const emin = Math.min(...errors);
  return [Math.max(1, (emax - HALF) / (emin + HALF)), (emax + HALF) / (emin - HALF)];
}

const meets = ([lo, hi]: [number, number], printed: number) =>
  lo <= printed + HALF + EPS && hi >= printed - HALF - EPS;
const roundsTo = (value: number, printed: number) => Math.abs(value - printed) <= HALF + EPS;

describe('the paper Tables 1-4, reproduced from their per-group accuracies', () => {
  it('STD is the sample standard deviation: every row is reproduced within the rounding of its inputs', () => {
    for (const r of ROWS) {
      expect(
        meets(stdRange(r.acc, false), r.std),
        `${key(r)} STD ${r.std} range ${stdRange(r.acc, false)}`,
      ).toBe(true);
    }
  });

  it('the population standard deviation reproduces no row at all', () => {
    for (const r of ROWS) {
      const [, max] = stdRange(r.acc, true);
      expect(max, key(r)).toBeLessThan(r.std - HALF);
    }
  });

  it('SER = max error / min error reproduces every row but Table 4 GAM-SFRE', () => {
    for (const r of ROWS) {
      expect(meets(serRange(r.acc), r.ser), `${key(r)} SER ${r.ser} range ${serRange(r.acc)}`).toBe(
        !INCONSISTENT_SER.includes(key(r)),
      );
    }
    // GAM-SFRE: the whole attainable range rounds to 1.40, not the printed 1.39.
    const sfre = ROWS.find((r) => key(r) === 'Table 4 GAM-SFRE')!;
    const [lo, hi] = serRange(sfre.acc);
    expect(lo).toBeGreaterThan(1.395);
    expect(hi).toBeLessThan(1.405);
  });

  it('Avg is the mean, for every row but Table 2 RL-RBN and Table 3 60%', () => {
    for (const r of ROWS) {
      expect(roundsTo(averageAccuracy(r.acc), r.avg), `${key(r)} Avg ${r.avg}`).toBe(
        !INCONSISTENT_AVG.includes(key(r)),
      );
    }
  });

  it('directly from the printed accuracies, rounded, only the listed rows are 0.01 off', () => {
    for (const r of ROWS) {
      const f = paperFairness(r.acc);
      expect(roundsTo(f.std, r.std), `${key(r)} STD ${f.std}`).toBe(!STD_DIRECT_OFF_BY_ONE.includes(key(r)));
      expect(roundsTo(f.ser, r.ser), `${key(r)} SER ${f.ser}`).toBe(!SER_DIRECT_OFF_BY_ONE.includes(key(r)));
      // Off by one printed unit, never more.
      expect(Math.abs(f.std - r.std)).toBeLessThan(0.015);
      expect(Math.abs(f.ser - r.ser)).toBeLessThan(0.015);
    }
  });

  it('the headline figures of Fig. 1(d): baseline STD 1.11, SER 1.65; GABN STD 0.56, SER 1.30', () => {
    const baseline = paperFairness([96.18, 94.67, 93.72, 93.98]);
    const gabn = paperFairness([95.78, 95.21, 94.51, 94.71]);
    expect(baseline.std).toBeCloseTo(1.1037, 4);
    expect(baseline.ser).toBeCloseTo(1.644, 3);
    expect(gabn.std).toBeCloseTo(0.5674, 4);
    expect(gabn.ser).toBeCloseTo(1.3009, 4);
    expect(skewedErrorRatio([100, 99])).toBe(Number.POSITIVE_INFINITY);
  });
});
