/**
 * The Train and Runs views' pure functions, against independent computations: min/max decimation of
 * long series, a run's series as records arrive (a resume cutting steps back included), the ETA, the
 * best validation, the configuration differences, the settings' labels and paths, the charts' lines.
 */
import { describe, expect, it } from 'vitest';
import type { EpochRecord, Mechanisms, StepRecord } from '../../../main/api/contract.ts';
import { CONFIG_KEYS } from '../../../main/gabn/training-config.ts';
import { minMaxDecimate } from '../../../renderer/src/charts/decimate.ts';
import { bestValidation } from '../../../renderer/src/training/best.ts';
import { configDifferences, flatten } from '../../../renderer/src/training/config-diff.ts';
import { comparisonChart, runCharts } from '../../../renderer/src/training/run-charts.ts';
import {
  appendRecords,
  emptySeries,
  formatDuration,
  remainingSeconds,
} from '../../../renderer/src/training/series.ts';
import { getPath, parseSetting, SETTING_LABELS, setPath } from '../../../renderer/src/training/settings.ts';
import { fakeMechanisms } from '../../helpers/mechanisms.ts';

/** A seeded walk (LCG), so the test is the same every run. */
function walk(n: number, seed = 7): number[] {
  let state = seed;
  let y = 0;
  return Array.from({ length: n }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    y += state / 2 ** 31 - 0.5;
    return y;
  });
}

function step(n: number, extra: Partial<StepRecord> = {}): StepRecord {
  return {
    type: 'step',
    epoch: 1,
    step: n,
    loss: n,
    identityLoss: 10 - n / 10,
    adversarialLoss: 1.4,
    discriminatorLoss: 1.3,
    discriminatorAccuracy: 0.3,
    confidenceLoss: 0.9,
    groupConfidence: { 'group-a': 0.8, 'group-b': 0.7 },
    lr: 0.1,
    imagesPerSecond: 20,
    ...extra,
  };
}

function epoch(n: number, stepAt: number, seconds: number, average = 80, std = 3, ser = 1.5): EpochRecord {
  return {
    type: 'epoch',
    epoch: n,
    step: stepAt,
    seconds,
    checkpoint: `checkpoints/epoch-${n}.gabn`,
    validation: { groups: { 'group-a': average + 1, 'group-b': average - 1 }, average, std, ser },
  };
}

describe('min/max decimation', () => {
  it('gives back a short series whole', () => {
    expect(minMaxDecimate([1, 2, 3], [5, null, 7], 10)).toEqual([
      { x: 1, y: 5 },
      { x: 2, y: null },
      { x: 3, y: 7 },
    ]);
  });

  it('keeps, of 50 000 steps, each bucket’s lowest and highest point in step order', () => {
    const n = 50_000;
    const buckets = 400;
    const xs = Array.from({ length: n }, (_, i) => i + 1);
    const ys = walk(n);
    const out = minMaxDecimate(xs, ys, buckets);
    expect(out.length).toBeLessThanOrEqual(2 * buckets + 2);
    expect(out[0]).toEqual({ x: 1, y: ys[0] });
    expect(out.at(-1)).toEqual({ x: n, y: ys[n - 1] });
    for (let i = 1; i < out.length; i++) expect(out[i]!.x).toBeGreaterThan(out[i - 1]!.x);
    // Every point drawn is a point of the series.
    for (const p of out) expect(p.y).toBe(ys[p.x - 1]);
    // The series' extremes are drawn.
    const ys2 = out.map((p) => p.y as number);
    expect(Math.min(...ys2)).toBe(Math.min(...ys));
    expect(Math.max(...ys2)).toBe(Math.max(...ys));
    // Bucket by bucket, by brute force over the same index ranges.
    const inner = n - 2;
    for (const b of [0, 17, 199, 399]) {
      const start = 1 + Math.floor((b * inner) / buckets);
      const end = 1 + Math.floor(((b + 1) * inner) / buckets);
      const slice = ys.slice(start, end);
      const inBucket = out.filter((p) => p.x - 1 >= start && p.x - 1 < end).map((p) => p.y);
      expect(inBucket).toContain(Math.min(...slice));
      expect(inBucket).toContain(Math.max(...slice));
      expect(inBucket.length).toBeLessThanOrEqual(2);
    }
  });

  it('draws a stretch of missing values as one gap and skips missing values beside real ones', () => {
    const n = 1000;
    const xs = Array.from({ length: n }, (_, i) => i);
    const ys = xs.map((x) => (x >= 400 && x < 600 ? null : x % 7 === 3 ? Number.NaN : x));
    const out = minMaxDecimate(xs, ys, 50);
    const gaps = out.filter((p) => p.y === null);
    // 200 missing values over 50 buckets of about 20: 10 buckets hold only gaps.
    expect(gaps.length).toBeGreaterThanOrEqual(9);
    expect(gaps.length).toBeLessThanOrEqual(11);
    expect(gaps.every((p) => p.x >= 400 && p.x < 600)).toBe(true);
    expect(out.filter((p) => p.y !== null).every((p) => p.y === p.x && p.x % 7 !== 3)).toBe(true);
  });
});

describe('a run’s series', () => {
  it('aligns every figure with the steps and each group’s confidence, one first seen late included', () => {
    const s = emptySeries();
    appendRecords(s, [
      step(1, { groupConfidence: { 'group-a': 0.9 } }),
      step(2, { adversarialLoss: null, groupConfidence: { 'group-a': 0.8, 'group-b': 0.6 } }),
      epoch(1, 2, 10),
    ]);
    expect(s.steps).toEqual([1, 2]);
    expect(s.figures.adversarialLoss).toEqual([1.4, null]);
    expect(s.groupConfidence).toEqual({ 'group-a': [0.9, 0.8], 'group-b': [null, 0.6] });
    expect(s.epochs.map((e) => e.epoch)).toEqual([1]);
    expect(s.records).toBe(3);
  });

  it('cuts back to the resumed step when a resumed run records steps again, and holds an epoch once', () => {
    const s = emptySeries();
    appendRecords(s, [step(1), step(2), epoch(1, 2, 10), step(3), step(4)]);
    // Resumed from the epoch-1 checkpoint: steps 3 and 4 come again.
    appendRecords(s, [step(3, { loss: 30 }), epoch(1, 2, 10)]);
    expect(s.steps).toEqual([1, 2, 3]);
    expect(s.figures.loss).toEqual([1, 2, 30]);
    expect(s.epochs).toHaveLength(1);
  });

  it('estimates the time left from the recent pace and what epoch ends took beyond their steps', () => {
    const s = emptySeries();
    // 4 steps per epoch at 20 images/s with batch 10: 0.5 s a step; epoch 1 took 5 s, so 3 s beyond its steps.
    appendRecords(s, [step(1), step(2), step(3), step(4), epoch(1, 4, 5), step(5), step(6)]);
    const left = remainingSeconds(s, { doneSteps: 6, totalSteps: 12, stepsPerEpoch: 4, batchSize: 10 });
    // 6 steps of 0.5 s, and 2 epoch ends (epochs 2 and 3) of 3 s.
    expect(left).toBeCloseTo(6 * 0.5 + 2 * 3, 10);
    expect(
      remainingSeconds(emptySeries(), { doneSteps: 0, totalSteps: 4, stepsPerEpoch: 2, batchSize: 8 }),
    ).toBe(undefined);
    expect([formatDuration(12.4), formatDuration(200), formatDuration(3900)]).toEqual([
      '12 s',
      '3 min 20 s',
      '1 h 05 min',
    ]);
  });
});

describe('the Runs view’s figures', () => {
  it('takes the best of each figure over the epochs, each with its epoch', () => {
    const best = bestValidation([
      epoch(1, 2, 1, 80, 3, 1.4),
      epoch(2, 4, 1, 83, 3.5, 1.2),
      epoch(3, 6, 1, 82, 2.9, 1.3),
    ]);
    expect(best).toEqual({
      average: { value: 83, epoch: 2 },
      std: { value: 2.9, epoch: 3 },
      ser: { value: 1.2, epoch: 2 },
    });
    expect(bestValidation([{ ...epoch(1, 2, 1), validation: undefined } as unknown as EpochRecord])).toEqual(
      {},
    );
  });

  it('lists the settings whose values differ, with each run’s', () => {
    const a = {
      preset: 'gabn',
      data: '/d',
      optimizer: { learningRate: 0.1, milestones: [9, 15] },
      modules: { sfre: true },
    };
    const b = {
      preset: 'baseline',
      data: '/d',
      optimizer: { learningRate: 0.1, milestones: [9, 16] },
      modules: { sfre: false },
    };
    expect(flatten(a)).toEqual({
      preset: 'gabn',
      data: '/d',
      'optimizer.learningRate': 0.1,
      'optimizer.milestones': [9, 15],
      'modules.sfre': true,
    });
    expect(configDifferences([a, b])).toEqual([
      { key: 'preset', values: ['gabn', 'baseline'] },
      { key: 'optimizer.milestones', values: ['[9,15]', '[9,16]'] },
      { key: 'modules.sfre', values: ['true', 'false'] },
    ]);
    expect(configDifferences([a, { ...a, from: '/c.gabn' }])).toEqual([
      { key: 'from', values: ['—', '/c.gabn'] },
    ]);
  });

  it('draws L_adv against its floor log G and the discriminator’s accuracy against chance 1/G', () => {
    const s = emptySeries();
    appendRecords(s, [step(1), step(2), epoch(1, 2, 3)]);
    const charts = runCharts(s);
    const adversarial = charts.find((c) => c.id === 'adversarialLoss')!;
    expect(Array.from(adversarial.lines[1]!.ys)).toEqual([Math.log(2), Math.log(2)]);
    const accuracy = charts.find((c) => c.id === 'discriminatorAccuracy')!;
    expect(Array.from(accuracy.lines[1]!.ys)).toEqual([0.5, 0.5]);
    const confidence = charts.find((c) => c.id === 'groupConfidence')!;
    expect(confidence.lines.map((l) => l.label)).toEqual(['group-a', 'group-b']);
    const validation = charts.find((c) => c.id === 'validationAccuracy')!;
    expect(validation.lines.map((l) => [l.label, Array.from(l.ys)])).toEqual([
      ['group-a', [81]],
      ['group-b', [79]],
      ['Avg', [80]],
    ]);
    const compared = comparisonChart('std', [
      { label: 'one', series: s },
      { label: 'two', series: s },
    ]);
    expect(compared.xLabel).toBe('epoch');
    expect(compared.lines.map((l) => Array.from(l.ys))).toEqual([[3], [3]]);
  });
});

/** An epoch's mechanism figures: group-a's attention narrower and its confidence lower than group-b's. */
function mechanisms(accuracy: number | null, massA: number, massB: number, distance: number): Mechanisms {
  return fakeMechanisms({
    accuracy,
    chance: 0.5,
    distance,
    halfWidth: 0.01,
    groups: {
      'group-a': { mass: massA, confidence: 0.6, targetProbability: 0.5 },
      'group-b': { mass: massB, confidence: 0.9, targetProbability: 0.8 },
    },
  });
}

describe('the mechanism figures', () => {
  it('draws, per epoch, the discriminator against chance, each group’s attention and confidence, and the GAM distance', () => {
    const s = emptySeries();
    appendRecords(s, [
      step(1),
      { ...epoch(1, 1, 3), mechanisms: mechanisms(0.9, 0.1, 0.2, 0.3) },
      step(2),
      { ...epoch(2, 2, 3), mechanisms: mechanisms(0.6, 0.15, 0.18, 0.2) },
    ]);
    const charts = runCharts(s);
    const chart = (id: string) => charts.find((c) => c.id === id)!;
    const lines = (id: string) => chart(id).lines.map((l) => [l.label, Array.from(l.xs), Array.from(l.ys)]);
    expect(lines('probeDiscriminatorAccuracy')).toEqual([
      ['accuracy', [1, 2], [0.9, 0.6]],
      ['chance 1/G = 0.50', [1, 2], [0.5, 0.5]],
    ]);
    expect(chart('probeDiscriminatorAccuracy').xLabel).toBe('epoch');
    expect(lines('probeMassFraction')).toEqual([
      ['group-a', [1, 2], [0.1, 0.15]],
      ['group-b', [1, 2], [0.2, 0.18]],
    ]);
    expect(lines('probeConfidence')).toEqual([
      ['group-a', [1, 2], [0.6, 0.6]],
      ['group-b', [1, 2], [0.9, 0.9]],
    ]);
    expect(lines('probeEntropy')[0]![2]).toEqual([0.8, 0.8]);
    expect(lines('probeLatticeShare')[1]![2]).toEqual([0.3, 0.3]);
    expect(lines('gamDistance')).toEqual([['GAM distance', [1, 2], [0.3, 0.2]]]);

    // Several runs: the lowest group's mass fraction and the confidence gap, and a run without a discriminator.
    const without = emptySeries();
    appendRecords(without, [step(1), { ...epoch(1, 1, 3), mechanisms: mechanisms(null, 0.3, 0.25, 0.1) }]);
    const runs = [
      { label: 'gabn', series: s },
      { label: 'baseline', series: without },
    ];
    const ys = (figure: string) =>
      comparisonChart(figure, runs).lines.map((l) => [Array.from(l.xs), Array.from(l.ys)]);
    expect(ys('lowestMassFraction')).toEqual([
      [
        [1, 2],
        [0.1, 0.15],
      ],
      [[1], [0.25]],
    ]);
    const gaps = ys('confidenceGap');
    expect(gaps[0]![1]!.map((v) => Number(v!.toFixed(12)))).toEqual([0.3, 0.3]);
    expect(ys('probeDiscriminatorAccuracy')).toEqual([
      [
        [1, 2],
        [0.9, 0.6],
      ],
      [[], []],
    ]);
  });
});

describe('the form’s settings', () => {
  it('labels every setting of the training configuration', () => {
    expect(CONFIG_KEYS.filter((key) => SETTING_LABELS[key] === undefined)).toEqual([]);
  });

  it('reads what was typed as --set does, and sets a setting by its path without touching the rest', () => {
    expect([parseSetting('0.01'), parseSetting('[4,6]'), parseSetting('true'), parseSetting('abc')]).toEqual([
      0.01,
      [4, 6],
      true,
      'abc',
    ]);
    const config = { optimizer: { learningRate: 0.1, momentum: 0.9 }, epochs: 2 };
    const changed = setPath(config, 'optimizer.learningRate', 0.01);
    expect(changed).toEqual({ optimizer: { learningRate: 0.01, momentum: 0.9 }, epochs: 2 });
    expect(config.optimizer.learningRate).toBe(0.1);
    expect(getPath(changed, 'optimizer.momentum')).toBe(0.9);
  });
});
