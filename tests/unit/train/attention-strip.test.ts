/**
 * What a run draws and measures besides its steps, on the wasm backend with a tiny network: the
 * probe set's attention strip (two validation images per group, before the first step and after
 * every epoch), each map equal to the GAM recomputed from the epoch's checkpoint read back from disk;
 * and the time-per-epoch estimate, which takes a few steps of the run and writes nothing.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAlignedImage } from '../../../main/data/image.ts';
import { loadDataset } from '../../../main/data/load-dataset.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { computeAttribution } from '../../../main/gabn/attribution.ts';
import { resolveTrainingConfig } from '../../../main/gabn/presets.ts';
import { loadEmbedder } from '../../../main/models/embedder.ts';
import { denormalise, encodePng } from '../../../main/report/figures/attention-figures.ts';
import { overlayAttention } from '../../../main/report/figures/colormap.ts';
import { STRIP_INDEX } from '../../../main/usecases/training/attention-strip.ts';
import { estimateEpoch } from '../../../main/usecases/training/estimate.ts';
import type { StripIndex } from '../../../main/usecases/training/records.ts';
import { startRun } from '../../../main/usecases/training/training-run.ts';
import { makeTinyTrainingSet } from './tiny-training-set.ts';

let root: string;
let data: string;
let val: string;
const config = resolveTrainingConfig({
  preset: 'gabn',
  config: 'tiny',
  overrides: [
    'model.width=0.125',
    'model.inputSize=16',
    'model.embeddingSize=16',
    'discriminator.width=0.125',
    'batchSize=8',
    'epochs=1',
    'erase.maxHeight=4',
    'erase.maxWidth=4',
  ],
});

beforeAll(async () => {
  // The wasm backend, as the app's workers use: its steps take a fraction of the cpu backend's.
  await loadEngine({ backend: 'wasm' });
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-strip-'));
  ({ data, val } = await makeTinyTrainingSet(root));
}, 120_000);

/** The 99th percentile with linear interpolation, written out here. */
function percentile99(map: Float32Array): number {
  const sorted = Array.from(map).sort((a, b) => a - b);
  const h = (sorted.length - 1) * 0.99;
  const lo = Math.floor(h);
  return sorted[lo]! + (h - lo) * ((sorted[lo + 1] ?? sorted[lo]!) - sorted[lo]!);
}

describe('the attention strip of a run', { timeout: 300_000 }, () => {
  it('draws two validation images per group before the first step and after each epoch, from the network as it is', async () => {
    const outcome = await startRun({
      out: path.join(root, 'run'),
      preset: 'gabn',
      config,
      data,
      val,
      command: 'test',
    });
    expect(outcome.state).toBe('succeeded');
    const index = JSON.parse(readFileSync(path.join(outcome.runDir, STRIP_INDEX), 'utf8')) as StripIndex;
    expect(index).toMatchObject({
      version: 1,
      method: 'gam',
      inputSize: 16,
      source: 'validation',
      saturation: 0.99,
    });
    const dataset = loadDataset(val);
    // Two per group, spread over the group's images: its first and its middle one.
    const expected = dataset.groups.flatMap((group) => {
      const images = dataset.images.filter((i) => i.group === group);
      return [images[0]!, images[Math.floor(images.length / 2)]!];
    });
    expect(index.probes.map((p) => p.relative)).toEqual(expected.map((i) => i.relative));
    expect(index.epochs.map((e) => e.epoch)).toEqual([0, 1]);
    expect(index.epochs.every((e) => e.maps.length === 8)).toBe(true);

    // After epoch 1: the GAM of the epoch's checkpoint, read back from disk, drawn the same way.
    const embedder = await loadEmbedder(path.join(outcome.runDir, 'checkpoints', 'epoch-1.gabn'));
    try {
      const faces = await Promise.all(expected.map((image) => loadAlignedImage(image, 16)));
      const x = tf.tensor4d(Float32Array.from(faces.flatMap((f) => Array.from(f))), [
        faces.length,
        16,
        16,
        3,
      ]);
      const { maps } = await computeAttribution('gam', embedder.model, x, { scale: config.gamScale });
      x.dispose();
      for (const [k, map] of maps.entries()) {
        const top = percentile99(map);
        const shown = top > 0 ? map.map((v) => Math.min(1, v / top)) : map;
        const face = denormalise(faces[k]!, 16, 16);
        const png = await encodePng(
          { ...face, pixels: overlayAttention(face.pixels, shown, 'inferno', 0.6) },
          7,
        );
        expect(
          readFileSync(path.join(outcome.runDir, index.epochs[1]!.maps[k]!)).equals(png),
          `probe ${k}`,
        ).toBe(true);
        expect(
          readFileSync(path.join(outcome.runDir, index.probes[k]!.face)).equals(await encodePng(face, 7)),
        ).toBe(true);
      }
    } finally {
      embedder.dispose();
    }
  });
});

describe('the time-per-epoch estimate', { timeout: 300_000 }, () => {
  it('times steps of the run itself and its validation, and writes nothing', async () => {
    const before = readdirSync(root, { recursive: true }).length;
    const steps: number[] = [];
    const estimate = await estimateEpoch(
      { preset: 'gabn', config: { ...config, epochs: 3 }, data, val },
      { probeSteps: 3, onProgress: (done) => steps.push(done) },
    );
    expect(readdirSync(root, { recursive: true }).length).toBe(before);
    expect(estimate).toMatchObject({
      network: 'iresnet18-w0.125-16-e16',
      backend: 'wasm',
      images: 16,
      identities: 4,
      groups: 4,
      stepsPerEpoch: 2,
      epochs: 3,
      // Two steps an epoch: the first, then one timed.
      probeSteps: 1,
    });
    expect(steps).toEqual([1, 2, 3]);
    expect(estimate.secondsPerStep).toBeGreaterThan(0);
    expect(estimate.validationSeconds).toBeGreaterThan(0);
    expect(estimate.secondsPerEpoch).toBe(2 * estimate.secondsPerStep + estimate.validationSeconds);
  });
});
