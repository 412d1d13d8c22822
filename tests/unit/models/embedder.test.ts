import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { computeAttribution } from '../../../main/gabn/attribution.ts';
import { loadEmbedder } from '../../../main/models/embedder.ts';
import { importFaceApi } from '../../../main/models/importers/face-api.ts';
import { writeFaceApiCheckpoint } from '../../../main/models/importers/face-api-checkpoint.ts';
import { faceApiDescriptor } from '../../../main/models/importers/face-api-net.ts';
import {
  createIResNet,
  createMarginHead,
  forward,
  iresnetSpec,
  saveCheckpoint,
} from '../../../main/models/index.ts';

let root: string;

beforeAll(async () => {
  await loadEngine({ backend: 'wasm' });
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-embedder-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function maxAbsDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('loadEmbedder', () => {
  it('serves an iResNet checkpoint: eval-mode embeddings, its head, and the Grad-CAM cut', async () => {
    const spec = iresnetSpec({ depth: 18, width: 0.125, inputSize: 32, embeddingSize: 16 });
    const model = createIResNet(spec, 4);
    const dir = path.join(root, 'small.gabn');
    await saveCheckpoint(dir, {
      model,
      groups: ['group-a', 'group-b'],
      classCount: 5,
      provenance: { data: {}, config: {}, metrics: {} },
      head: createMarginHead(16, 5, 5),
    });
    const embedder = await loadEmbedder(dir);
    expect(embedder.family).toBe('iresnet');
    expect(embedder.inputSize).toBe(32);
    expect(embedder.groups).toEqual(['group-a', 'group-b']);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const expected = forward(model, x, { training: false });
    expect(maxAbsDifference(embedder.model.embed(x), expected)).toBeLessThan(1e-5);
    const stages = embedder.model.stages!;
    expect(maxAbsDifference(stages.embedFeatures(stages.features(x)), expected)).toBeLessThan(1e-5);
    expect(embedder.model.head?.weight.shape).toEqual([16, 5]);
    const gam = await computeAttribution('gam', embedder.model, x);
    expect(gam.maps).toHaveLength(2);
    expect(Math.max(...gam.maps[0]!)).toBeCloseTo(1, 6);
    embedder.dispose();
  });

  it('serves the imported face-api network from the project normalisation', async () => {
    const dir = path.join(root, 'face-api.gabn');
    await writeFaceApiCheckpoint(dir, await importFaceApi());
    const embedder = await loadEmbedder(dir);
    expect(embedder.family).toBe('face-api-resnet');
    expect(embedder.inputSize).toBe(150);
    expect(embedder.model.head).toBeUndefined();
    const pixels = tf.tidy(() =>
      tf.mul(tf.randomUniform([1, 150, 150, 3], 0, 1, 'float32', 11), 255),
    ) as tf.Tensor4D;
    const projectNormalised = tf.div(tf.sub(pixels, 127.5), 128) as tf.Tensor4D;
    const params: Record<string, tf.Tensor> = {};
    const { readFaceApiCheckpoint } = await import('../../../main/models/importers/face-api-checkpoint.ts');
    for (const w of (await readFaceApiCheckpoint(dir)).weights)
      params[w.name] = tf.tensor(w.values, [...w.shape]);
    const reference = faceApiDescriptor(params, pixels);
    // Same float32 network, the normalisation folded into one affine map: a few ulps of the descriptor.
    expect(maxAbsDifference(embedder.model.embed(projectNormalised), reference)).toBeLessThan(1e-4);
    const partner = tf.reverse(projectNormalised, 2) as tf.Tensor4D;
    const pairGam = await computeAttribution('pair-gam', embedder.model, projectNormalised, {
      partners: partner,
    });
    expect(pairGam.width).toBe(150);
    expect(pairGam.maps[0]!.some((v) => v > 0)).toBe(true);
    embedder.dispose();
  });

  it('names the directory that is not a checkpoint', async () => {
    await expect(loadEmbedder(path.join(root, 'missing.gabn'))).rejects.toThrow(
      /missing\.gabn.*checkpoint\.json/,
    );
  });
});
