/**
 * One image's attention map and erasure masks, computed in the service process one at a time (the
 * work queue lets them cut in ahead of background work) and kept in an LRU.
 */
import { GabnError } from '../../base/errors.ts';
import { finiteOrNull } from '../../base/json.ts';
import { createPrng } from '../../base/random.ts';
import { flipHorizontal, loadAlignedImage } from '../../data/image.ts';
import { tf } from '../../engine/index.ts';
import { latticeArea, latticeShare, massFraction, normalisedEntropy } from '../../eval/attention-stats.ts';
import { computeAttribution, usesPartner } from '../../gabn/attribution.ts';
import { randomEraseMasks, sensitiveRegionMasks } from '../../gabn/masks.ts';
import type {
  AttributionMap,
  AttributionMethod,
  AttributionRequest,
  MaskRequest,
  MaskResult,
} from '../contract.ts';
import { LruCache } from '../lru.ts';
import type { WorkQueue } from '../work-queue.ts';
import type { CheckpointRegistry } from './checkpoints.ts';
import type { DatasetRegistry } from './datasets.ts';

export function decodeMap(map: AttributionMap): Float32Array {
  const raw = Buffer.from(map.values, 'base64');
  return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
}

export function createAttribution(deps: {
  checkpoints: CheckpointRegistry;
  datasets: DatasetRegistry;
  work: WorkQueue;
  cacheEntries: number;
}) {
  const { checkpoints, datasets, work } = deps;
  const maps = new LruCache<string, AttributionMap>(deps.cacheEntries);

  async function compute(request: AttributionRequest): Promise<AttributionMap> {
    const { checkpointId, datasetId, imageId, method } = request;
    const c = checkpoints.get(checkpointId);
    const d = datasets.get(datasetId);
    const face = datasets.image(d, imageId);
    if (request.partnerId !== undefined) datasets.image(d, request.partnerId);
    if (method === 'gam' && !c.summary.hasHead) {
      throw new GabnError('usage', `${c.summary.name} has no identity head, so it has no GAM`, {
        expected: "'pair-gam' or 'grad-cam'",
      });
    }
    const key = `${checkpointId}|${datasetId}|${imageId}|${method}|${request.partnerId ?? ''}`;
    const cached = maps.get(key);
    if (cached) return cached;
    const result = await work.run('interactive', async () => {
      const embedder = await checkpoints.embedderOf(c);
      const size = embedder.inputSize;
      const x = await loadAlignedImage(face, size);
      let partnerId: number | undefined;
      let partner: Float32Array | undefined;
      if (usesPartner(method, embedder.model)) {
        partnerId = request.partnerId ?? d.partner(imageId);
        partner =
          partnerId === undefined
            ? flipHorizontal(x, size)
            : await loadAlignedImage(datasets.image(d, partnerId), size);
      }
      const images = tf.tensor4d(x, [1, size, size, 3]);
      const partners = partner ? tf.tensor4d(partner, [1, size, size, 3]) : undefined;
      try {
        const r = await computeAttribution(method, embedder.model, images, partners ? { partners } : {});
        const map = r.maps[0]!;
        const out: AttributionMap = {
          method,
          width: r.width,
          height: r.height,
          values: Buffer.from(map.buffer, map.byteOffset, map.byteLength).toString('base64'),
          rawMax: r.rawMax[0]!,
          massFraction: finiteOrNull(massFraction(map)),
          entropy: finiteOrNull(normalisedEntropy(map)),
          ...(embedder.stride === undefined
            ? {}
            : {
                lattice: {
                  share: finiteOrNull(latticeShare(map, r.height, r.width, embedder.stride)),
                  area: latticeArea(r.height, r.width, embedder.stride),
                },
              }),
          ...(partnerId === undefined ? {} : { partnerId }),
        };
        return out;
      } finally {
        images.dispose();
        partners?.dispose();
      }
    });
    maps.set(key, result);
    return result;
  }

  async function masks(request: MaskRequest): Promise<MaskResult> {
    const c = checkpoints.get(request.checkpointId);
    datasets.image(datasets.get(request.datasetId), request.imageId);
    const size = c.summary.inputSize;
    const erase = {
      count: request.n,
      maxHeight: request.h,
      maxWidth: request.w,
      centres: request.centres ?? 'raw',
    };
    const prng = createPrng(request.seed);
    let rects: MaskResult['rects'];
    if (request.kind === 'random') {
      rects = randomEraseMasks(size, size, erase, prng);
    } else {
      const method: AttributionMethod = request.method ?? (c.summary.hasHead ? 'gam' : 'pair-gam');
      const map = await compute({ ...request, method });
      const { stride } = await checkpoints.embedderOf(c);
      rects = sensitiveRegionMasks(decodeMap(map), map.height, map.width, erase, prng, stride);
    }
    return { kind: request.kind, width: size, height: size, rects };
  }

  return { compute, masks };
}
