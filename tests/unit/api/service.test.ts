import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetSummary } from '../../../main/api/contract.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { GabnError } from '../../../main/base/errors.ts';
import { createPrng } from '../../../main/base/random.ts';
import { loadAlignedImage } from '../../../main/data/image.ts';
import { loadDataset } from '../../../main/data/load-dataset.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { checkpointDistances } from '../../../main/eval/embeddings.ts';
import { verify } from '../../../main/eval/verification.ts';
import { computeAttribution } from '../../../main/gabn/attribution.ts';
import { randomEraseMasks, sensitiveRegionMasks } from '../../../main/gabn/masks.ts';
import { loadEmbedder } from '../../../main/models/embedder.ts';
import { makeTinyWorkspace, type TinyWorkspace } from './tiny-workspace.ts';

let tiny: TinyWorkspace;
let service: GabnService;
let dataset: DatasetSummary;
let checkpointId: string;

function decode(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

async function rejection(promise: Promise<unknown>): Promise<GabnError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GabnError) return error;
    throw error;
  }
  throw new Error('expected a GabnError');
}

beforeAll(async () => {
  tiny = await makeTinyWorkspace(mkdtempSync(path.join(os.tmpdir(), 'gabn-service-')));
  service = createService({ workspace: tiny.workspace, host: 'browser', embeddingCacheDir: null });
  const found = await service.listDatasets();
  dataset = found[0]!;
  checkpointId = (await service.call('openCheckpoint', tiny.checkpoint)).id;
});

afterAll(async () => {
  await service?.close();
});

describe('service: datasets and checkpoints', () => {
  it('finds the workspace dataset at start and describes its groups', () => {
    expect(dataset.path).toBe(tiny.rfw);
    expect(dataset.format).toBe('rfw');
    expect(dataset.groups.map((g) => g.name)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
    for (const g of dataset.groups) {
      expect(g.images).toBe(40);
      expect(g.identities).toBe(20);
    }
    expect(dataset.images).toBe(160);
  });

  it('opens a checkpoint by path and describes it as checkpoint.json says', async () => {
    const detail = await service.call('describeCheckpoint', checkpointId);
    expect(detail.architecture).toBe('iresnet18-w0.125-32-e16');
    expect(detail.inputSize).toBe(32);
    expect(detail.embeddingSize).toBe(16);
    expect(detail.classCount).toBe(6);
    expect(detail.hasHead).toBe(true);
    expect(detail.methods).toEqual(['gam', 'pair-gam', 'grad-cam']);
    expect(detail.files.map((f) => f.name)).toEqual(['checkpoint.json', 'head.bin', 'weights.bin']);
    expect(detail.provenance.softwareVersion).toBe('0.1.0');
    // Opening the same folder again gives the same checkpoint, not a second one.
    expect((await service.call('openCheckpoint', tiny.checkpoint)).id).toBe(checkpointId);
    expect((await service.listCheckpoints()).length).toBe(1);
  });

  it('says what is wrong with a path that is no checkpoint', async () => {
    const e = await rejection(service.call('openCheckpoint', tiny.rfw));
    expect(e.kind).toBe('missing-file');
    expect(e.message).toContain('not a checkpoint');
    expect((await rejection(service.call('describeCheckpoint', 'c-000000000000'))).message).toContain(
      "no open checkpoint 'c-000000000000'",
    );
  });

  it('lists images by group and identity, with offset and limit', async () => {
    const b = await service.call('listImages', { datasetId: dataset.id, group: 'group-b', limit: 100_000 });
    expect(b.total).toBe(40);
    expect(b.images.every((i) => i.group === 'group-b')).toBe(true);
    const someone = b.images[5]!.identity;
    const filtered = await service.call('listImages', {
      datasetId: dataset.id,
      identity: someone.toUpperCase().slice(2),
    });
    expect(filtered.images.length).toBeGreaterThanOrEqual(2);
    expect(filtered.images.every((i) => i.identity.includes(someone.slice(2)))).toBe(true);
    const page = await service.call('listImages', {
      datasetId: dataset.id,
      group: 'group-b',
      offset: 35,
      limit: 10,
    });
    expect(page.images.map((i) => i.id)).toEqual(b.images.slice(35).map((i) => i.id));
    expect(
      (await rejection(service.call('listImages', { datasetId: dataset.id, group: 'group-z' }))).message,
    ).toContain("no group 'group-z'");
  });
});

describe('service: attention, masks and pairs equal the engine computed directly', () => {
  it('computes each method as computeAttribution does on the aligned image', async () => {
    await loadEngine();
    const data = loadDataset(tiny.rfw);
    const embedder = await loadEmbedder(tiny.checkpoint);
    const imageId = 41;
    const x = tf.tensor4d(await loadAlignedImage(data.images[imageId]!, 32), [1, 32, 32, 3]);
    const direct = await computeAttribution('gam', embedder.model, x);
    x.dispose();
    embedder.dispose();
    const served = await service.call('computeAttribution', {
      checkpointId,
      datasetId: dataset.id,
      imageId,
      method: 'gam',
    });
    expect(served.width).toBe(32);
    expect(Array.from(decode(served.values))).toEqual(Array.from(direct.maps[0]!));
    expect(served.rawMax).toBe(direct.rawMax[0]);
    expect(served.massFraction).toBeGreaterThan(0);
    expect(served.massFraction).toBeLessThanOrEqual(0.5);
    const pair = await service.call('computeAttribution', {
      checkpointId,
      datasetId: dataset.id,
      imageId,
      method: 'pair-gam',
    });
    // The pair GAM compares with a genuine partner of the same identity.
    expect(pair.partnerId).toBeDefined();
    expect(data.images[pair.partnerId!]!.identity).toBe(data.images[imageId]!.identity);
    expect(pair.partnerId).not.toBe(imageId);
  });

  it('places GAM-SFRE and random-erase rectangles as the masks module does for the same seed', async () => {
    const request = { checkpointId, datasetId: dataset.id, imageId: 41, n: 4, h: 6, w: 5, seed: 9 };
    const map = await service.call('computeAttribution', {
      checkpointId,
      datasetId: dataset.id,
      imageId: 41,
      method: 'gam',
    });
    const erase = { count: 4, maxHeight: 6, maxWidth: 5 };
    const sfre = await service.call('computeMasks', { ...request, kind: 'sfre' });
    expect(sfre.rects).toEqual(sensitiveRegionMasks(decode(map.values), 32, 32, erase, createPrng(9)));
    expect(sfre.rects).toHaveLength(4);
    const random = await service.call('computeMasks', { ...request, kind: 'random' });
    expect(random.rects).toEqual(randomEraseMasks(32, 32, erase, createPrng(9)));
    const reseeded = await service.call('computeMasks', { ...request, kind: 'random', seed: 10 });
    expect(reseeded.rects).not.toEqual(random.rects);
  });

  it('scores pairs with the 10-fold protocol of the audit', async () => {
    const imageId = 41;
    const plain = await service.call('listPairs', { datasetId: dataset.id, imageId });
    expect(plain.pairs.length).toBeGreaterThan(0);
    expect(plain.pairs[0]!.distance).toBeUndefined();
    const scored = await service.call('listPairs', { datasetId: dataset.id, imageId, checkpointId });
    await loadEngine();
    const data = loadDataset(tiny.rfw);
    const group = data.images[imageId]!.group;
    const embedder = await loadEmbedder(tiny.checkpoint);
    const groupPairs = data.pairs.filter((p) => p.group === group);
    const audit = await checkpointDistances(
      embedder,
      tiny.checkpoint,
      { ...data, groups: [group], pairs: groupPairs },
      { cacheDir: null },
    );
    embedder.dispose();
    const g = audit.groups[0]!;
    const v = verify(g);
    expect(scored.groupAccuracy).toBe(v.accuracy);
    for (const pair of scored.pairs) {
      const index = groupPairs.findIndex(
        (p) =>
          ((p.a === imageId && p.b === pair.partner.id) || (p.b === imageId && p.a === pair.partner.id)) &&
          p.fold === pair.fold,
      );
      expect(index).toBeGreaterThanOrEqual(0);
      expect(pair.distance).toBeCloseTo(g.distances[index]!, 12);
      expect(pair.threshold).toBe(v.foldThresholds[pair.fold]);
      expect(pair.predictedSame).toBe(pair.distance! < pair.threshold!);
      expect(pair.correct).toBe(pair.predictedSame === pair.same);
    }
  });

  it('refuses an image id outside the dataset', async () => {
    const e = await rejection(
      service.call('computeAttribution', {
        checkpointId,
        datasetId: dataset.id,
        imageId: 160,
        method: 'gam',
      }),
    );
    expect(e.message).toContain('no image 160');
    expect(e.expected).toBe('an image id in [0, 159]');
  });
});
