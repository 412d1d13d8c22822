/**
 * The mechanism figures of an epoch (main/usecases/training/mechanisms.ts) against independent
 * computations on a tiny network: the total variation distance by hand, the discriminator's accuracy
 * as a direct count of its argmax, each group's confidence as a softmax of ArcFace logits computed
 * here in float64, and the attention figures from maps taken by the audit's GAM function.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import {
  latticeShare,
  massFraction,
  meanPairwiseDistance,
  normalisedEntropy,
  totalVariationDistance,
} from '../../../main/eval/attention-stats.ts';
import { gradientAttentionMapArrays } from '../../../main/gabn/gam.ts';
import { iresnetEmbedder } from '../../../main/models/embedder.ts';
import {
  createDiscriminator,
  createIResNet,
  createMarginHead,
  discriminatorForward,
  iresnetSpec,
} from '../../../main/models/index.ts';
import type { Estimate } from '../../../main/report/report-model.ts';
import { type AblationRow, mechanismTable } from '../../../main/usecases/ablation.ts';
import {
  describeMechanisms,
  type MeasuredNetwork,
  measureMechanisms,
  mechanismSummary,
  type ProbeImages,
} from '../../../main/usecases/training/mechanisms.ts';
import type { Mechanisms } from '../../../main/usecases/training/records.ts';
import { around, fakeMechanisms } from '../../helpers/mechanisms.ts';

const SIZE = 16;
const GROUPS = ['group-a', 'group-b', 'group-c'];
const MARGIN = { kind: 'arcface', s: 16, m: 0.35 } as const;
const GAM_SCALE = 16;

describe('the total variation distance between attention maps', () => {
  it('is 0 for maps equal up to scale, 1 for disjoint ones, and ½ Σ |p − q| by hand', () => {
    expect(totalVariationDistance([1, 2, 3, 4], [2, 4, 6, 8])).toBe(0);
    expect(totalVariationDistance([1, 0, 0, 0], [0, 0, 3, 1])).toBe(1);
    // p = [½, 0, ½, 0], q = [0, ¼, ¼, ½]: ½ (½ + ¼ + ¼ + ½) = 0.75.
    expect(totalVariationDistance([1, 0, 1, 0], [0, 1, 1, 2])).toBeCloseTo(0.75, 15);
    expect(totalVariationDistance([0, 0], [1, 1])).toBeNaN();
  });

  it('averages over every pair of groups', () => {
    const a = [1, 0, 1, 0];
    const b = [0, 1, 1, 2];
    const c = [1, 0, 1, 0];
    // (a,b) 0.75, (a,c) 0, (b,c) 0.75.
    expect(meanPairwiseDistance([a, b, c])).toBeCloseTo(0.5, 15);
    expect(meanPairwiseDistance([a])).toBeNaN();
  });
});

let network: MeasuredNetwork;
let probe: ProbeImages;

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
  const face = createIResNet(iresnetSpec({ depth: 18, width: 0.125, inputSize: SIZE, embeddingSize: 16 }), 5);
  const head = createMarginHead(16, 6, 6);
  const embedder = iresnetEmbedder({
    net: face,
    head,
    groups: GROUPS,
    classCount: 6,
    json: null,
    dispose: () => {},
  });
  network = {
    model: embedder.model,
    discriminator: createDiscriminator(GROUPS.length, { width: 0.125 }, 7),
    margin: MARGIN,
    gamScale: GAM_SCALE,
    stride: 16,
    groups: GROUPS,
  };
  const count = 9;
  const images = tf.randomNormal([count, SIZE, SIZE, 3], 0, 0.6, 'float32', 21);
  probe = {
    perGroup: 3,
    size: SIZE,
    pixels: Float32Array.from(await images.data()),
    labels: Int32Array.from([0, 1, 2, 3, 4, 5, 0, 2, 4]),
    groups: Int32Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2]),
  };
  images.dispose();
}, 60_000);

function inside(e: Estimate): void {
  expect(e.value).not.toBeNull();
  expect(e.interval!.lower!).toBeLessThanOrEqual(e.value!);
  expect(e.interval!.upper!).toBeGreaterThanOrEqual(e.value!);
}

/** The probe's maps as the audit computes them (eval mode), each divided by its maximum. */
async function auditMaps(): Promise<Float32Array[]> {
  const x = tf.tensor4d(probe.pixels, [probe.labels.length, SIZE, SIZE, 3]);
  try {
    return (
      await gradientAttentionMapArrays(network.model.embed, network.model.head!, x, { scale: GAM_SCALE })
    ).maps;
  } finally {
    x.dispose();
  }
}

describe('the mechanism figures on a probe set', () => {
  it('match independent computations of every figure, and leave no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const m = await measureMechanisms(network, probe);
    expect(tf.memory().numTensors).toBe(before);
    const maps = await auditMaps();
    const n = probe.labels.length;

    // The discriminator: its argmax on the normalised maps, counted.
    const logits = tf.tidy(() =>
      discriminatorForward(network.discriminator!, tf.tensor3d(concat(maps), [n, SIZE, SIZE])),
    );
    const values = await logits.data();
    logits.dispose();
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(values.subarray(i * GROUPS.length, (i + 1) * GROUPS.length));
      if (row.indexOf(Math.max(...row)) === probe.groups[i]) correct++;
    }
    expect(m.discriminatorAccuracy!.value).toBeCloseTo(correct / n, 12);
    inside(m.discriminatorAccuracy!);
    expect(m.chance).toBeCloseTo(1 / 3, 15);
    expect(m.probesPerGroup).toBe(3);

    // Confidence: P_max of softmax(s · ArcFace logits), and the own identity's probability under
    // softmax(s · cos θ) without the margin, in float64 from the embeddings and the head.
    const x = tf.tensor4d(probe.pixels, [n, SIZE, SIZE, 3]);
    const e = tf.tidy(() => network.model.embed(x));
    const embeddings = await e.data();
    const w = await network.model.head!.weight.data();
    tf.dispose([x, e]);
    const [d, classes] = network.model.head!.weight.shape as [number, number];
    const probabilities = Array.from({ length: n }, (_, i) => {
      const ei = Array.from({ length: d }, (_, k) => embeddings[i * d + k]!);
      const norm = Math.hypot(...ei);
      const plain: number[] = [];
      const logit = Array.from({ length: classes }, (_, j) => {
        const wj = Array.from({ length: d }, (_, k) => w[k * classes + j]!);
        let cos = ei.reduce((a, v, k) => a + v * wj[k]!, 0) / (norm * Math.hypot(...wj));
        plain.push(MARGIN.s * cos);
        if (j === probe.labels[i]) {
          cos =
            cos > Math.cos(Math.PI - MARGIN.m)
              ? Math.cos(Math.acos(cos) + MARGIN.m)
              : cos - Math.sin(Math.PI - MARGIN.m) * MARGIN.m;
        }
        return MARGIN.s * cos;
      });
      const top = Math.max(...logit);
      const sum = logit.reduce((a, z) => a + Math.exp(z - top), 0);
      const plainTop = Math.max(...plain);
      const plainSum = plain.reduce((a, z) => a + Math.exp(z - plainTop), 0);
      return { max: 1 / sum, target: Math.exp(plain[probe.labels[i]!]! - plainTop) / plainSum };
    });

    GROUPS.forEach((name, g) => {
      const members = [0, 1, 2].map((k) => 3 * g + k);
      const mean = (f: (i: number) => number) => members.reduce((a, i) => a + f(i), 0) / members.length;
      const figures = m.groups[name]!;
      expect(figures.images).toBe(3);
      expect(figures.confidence.value!).toBeCloseTo(
        mean((i) => probabilities[i]!.max),
        5,
      );
      expect(figures.targetProbability.value!).toBeCloseTo(
        mean((i) => probabilities[i]!.target),
        5,
      );
      expect(figures.massFraction.value!).toBeCloseTo(
        mean((i) => massFraction(maps[i]!)),
        12,
      );
      expect(figures.entropy.value!).toBeCloseTo(
        mean((i) => normalisedEntropy(maps[i]!)),
        12,
      );
      expect(figures.latticeShare.value!).toBeCloseTo(
        mean((i) => latticeShare(maps[i]!, SIZE, SIZE, 16)),
        12,
      );
      for (const f of [
        figures.confidence,
        figures.targetProbability,
        figures.massFraction,
        figures.entropy,
        figures.latticeShare,
      ])
        inside(f);
    });

    // The distance between the groups' average maps, by hand.
    const average = (g: number) =>
      Array.from(
        { length: SIZE * SIZE },
        (_, p) => [0, 1, 2].reduce((a, k) => a + maps[3 * g + k]![p]!, 0) / 3,
      );
    const tv = (a: number[], b: number[]) => {
      const sa = a.reduce((s, v) => s + v, 0);
      const sb = b.reduce((s, v) => s + v, 0);
      return a.reduce((s, v, i) => s + Math.abs(v / sa - b[i]! / sb), 0) / 2;
    };
    const [a, b, c] = [average(0), average(1), average(2)];
    expect(m.gamDistance!).toBeCloseTo((tv(a, b) + tv(a, c) + tv(b, c)) / 3, 6);
    expect(m.gamDistance!).toBeGreaterThan(0);
    const { lower, upper } = m.gamDistanceInterval!;
    expect(0 <= lower! && lower! < upper! && upper! <= 1).toBe(true);
  });

  it('gives a distance of 0 when every group holds the same images, and no accuracy without a discriminator', async () => {
    const same: ProbeImages = {
      ...probe,
      pixels: Float32Array.from(
        { length: probe.pixels.length },
        (_, i) => probe.pixels[i % (3 * SIZE * SIZE * 3)]!,
      ),
      labels: Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2]),
    };
    const { discriminator: _, ...withoutDiscriminator } = network;
    const m = await measureMechanisms(withoutDiscriminator, same);
    expect(m.discriminatorAccuracy).toBeNull();
    expect(m.gamDistance).toBe(0);
    expect(m.gamDistanceInterval).toEqual({ lower: 0, upper: 0 });
    expect(m.groups['group-a']!.confidence.value).toBe(m.groups['group-c']!.confidence.value);
  });
});

function concat(maps: Float32Array[]): Float32Array {
  const out = new Float32Array(maps.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of maps) {
    out.set(m, at);
    at += m.length;
  }
  return out;
}

describe('the mechanism figures side by side', () => {
  const e = (value: number) => around(value, 0.05);
  const m: Mechanisms = fakeMechanisms({
    accuracy: 0.625,
    chance: 0.5,
    distance: 0.125,
    halfWidth: 0.05,
    groups: { 'group-a': { mass: 0.25, confidence: 0.75 }, 'group-b': { mass: 0.125, confidence: 0.5 } },
  });
  const estimate = { value: 1, interval: null };
  const row = (mechanisms: Mechanisms | null): AblationRow => ({
    preset: 'gam-ct',
    seed: 1,
    checkpoint: 'x',
    groups: {},
    average: estimate,
    std: estimate,
    ser: estimate,
    mechanisms,
  });

  it('names the lowest group and the confidence gap', () => {
    expect(mechanismSummary(m)).toEqual({
      lowest: { group: 'group-b', massFraction: e(0.125) },
      confidenceGap: 0.25,
    });
    expect(describeMechanisms(m)).toBe(
      'discriminator accuracy 0.625 (chance 0.500); lowest mass fraction 0.125 (group-b); GAM distance 0.125; confidence gap 0.250',
    );
  });

  it('makes the ablation table’s columns, with intervals, and dashes for a run measured without them', () => {
    const table = mechanismTable([row(m), row(null)], ['gam-ct (seed 1)', 'old (seed 2)']);
    expect(table.columns).toEqual([
      'run',
      'discriminator accuracy',
      'mass fraction group-a',
      'mass fraction group-b',
      'GAM distance',
      'confidence group-a',
      'confidence group-b',
      'confidence gap',
    ]);
    expect(table.rows[0]).toEqual({
      label: 'gam-ct (seed 1)',
      cells: [
        '0.625 [0.575, 0.675] (chance 0.500)',
        '0.250 [0.200, 0.300]',
        '0.125 [0.075, 0.175]',
        '0.125',
        '0.750 [0.700, 0.800]',
        '0.500 [0.450, 0.550]',
        '0.250',
      ],
    });
    expect(table.rows[1]!.cells).toEqual(['—', '—', '—', '—', '—', '—', '—']);
  });
});
