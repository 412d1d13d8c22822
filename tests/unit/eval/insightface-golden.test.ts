/**
 * Golden test of the 10-fold protocol against tests/golden/insightface_roc.py, a numpy transcription
 * of insightface's calculate_roc. Thresholds, per-fold best thresholds, per-fold accuracies, the mean
 * accuracy and the fold-averaged TPR/FPR must agree bit for bit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { INSIGHTFACE_THRESHOLDS, verify } from '../../../main/eval/verification.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = 'tests/golden/insightface_roc.py';

function numpyMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return `numpy cannot be imported by ${PYTHON}: ${probe.stderr.trim()}`;
  return undefined;
}

const skipReason = numpyMissing();
if (skipReason !== undefined) console.warn(`insightface golden test skipped: ${skipReason}`);

interface Case {
  name: string;
  distances: number[];
  same: number[];
  folds: number[] | null;
}

function makeCases(): Case[] {
  const random = createPrng(20240601);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const cases: Case[] = [];
  const realistic = (name: string, n: number, positiveShare: number): Case => {
    const same: number[] = [];
    const distances: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = random.next() < positiveShare ? 1 : 0;
      same.push(s);
      distances.push(Math.min(4, Math.max(0, (s ? 0.9 : 1.5) + 0.3 * normal())));
    }
    return { name, distances, same, folds: null };
  };
  cases.push(realistic('balanced, 600 pairs', 600, 0.5));
  cases.push(realistic('unbalanced, 613 pairs (not divisible by 10)', 613, 0.2));
  cases.push(realistic('37 pairs: folds of 4 and 3', 37, 0.5));
  // Distances exactly on thresholds: i * 0.01 (np.arange's values) and i / 100, which differs from
  // i * 0.01 by one ulp for some i, so `<` against the threshold decides differently.
  {
    const n = 503;
    const same: number[] = [];
    const distances: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = random.next() < 0.5 ? 1 : 0;
      const t = Math.min(399, Math.max(0, Math.round((s ? 90 : 150) + 35 * normal())));
      same.push(s);
      distances.push(random.next() < 0.5 ? t * 0.01 : t / 100);
    }
    cases.push({ name: 'distances exactly on thresholds', distances, same, folds: null });
  }
  // Heavy ties: only 12 distinct distance values, and equal training accuracies over wide ranges of
  // thresholds, so np.argmax's first-maximum rule decides.
  {
    const n = 241;
    const same: number[] = [];
    const distances: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = random.next() < 0.5 ? 1 : 0;
      same.push(s);
      distances.push(0.25 * Math.floor(random.next() * 12) + (s ? 0 : 0.5) * (random.next() < 0.5 ? 1 : 0));
    }
    cases.push({ name: 'ties', distances, same, folds: null });
  }
  // Perfectly separable: every threshold between the classes ties; the first one wins.
  {
    const same = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const distances = same.map((s, i) => (s ? 0.5 + (i % 7) * 0.01 : 2.5 + (i % 5) * 0.01));
    cases.push({ name: 'separable', distances, same, folds: null });
  }
  // Explicit folds as RFW pairs files give them (here 10 folds of unequal, interleaved membership).
  {
    const base = realistic('explicit folds', 400, 0.5);
    base.folds = base.distances.map((_, i) => (i * 7) % 10);
    cases.push(base);
  }
  return cases;
}

describe('verification protocol against numpy insightface calculate_roc', () => {
  it.skipIf(skipReason !== undefined)('matches per-fold thresholds, accuracies and TPR/FPR exactly', () => {
    const cases = makeCases();
    const run = spawnSync(PYTHON, [SCRIPT], {
      input: JSON.stringify({ cases }),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(run.status, run.stderr).toBe(0);
    const golden = JSON.parse(run.stdout) as {
      thresholds: string[];
      results: {
        bestIndices: number[];
        bestThresholds: string[];
        foldAccuracies: string[];
        accuracy: string;
        tpr: string[];
        fpr: string[];
      }[];
    };
    expect(Array.from(INSIGHTFACE_THRESHOLDS)).toEqual(golden.thresholds.map(Number));
    cases.forEach((c, i) => {
      const want = golden.results[i]!;
      const got = verify({
        distances: Float64Array.from(c.distances),
        same: Uint8Array.from(c.same),
        ...(c.folds === null ? {} : { folds: Int32Array.from(c.folds) }),
      });
      expect(Array.from(got.foldThresholdIndices), c.name).toEqual(want.bestIndices);
      expect(Array.from(got.foldThresholds), c.name).toEqual(want.bestThresholds.map(Number));
      expect(Array.from(got.foldAccuracies), c.name).toEqual(want.foldAccuracies.map(Number));
      expect(got.accuracy, c.name).toBe(Number(want.accuracy));
      expect(Array.from(got.tpr), c.name).toEqual(want.tpr.map(Number));
      expect(Array.from(got.fpr), c.name).toEqual(want.fpr.map(Number));
    });
  });
});
