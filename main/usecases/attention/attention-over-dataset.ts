/**
 * Gradient attention over a dataset (`gabn gam`, and the GUI's group averages): every selected image's
 * map and GAM-SFRE rectangles, per-group attention statistics with bootstrap intervals, and the
 * average face and average map of each group (the paper's Fig. 1b and 5).
 *
 * Models with an identity head use the GAM of Eq. 1-2. Models without one (imported embedders) use
 * the pair GAM, T = cos(e(x), e(partner)), where the partner is the image's first genuine pair
 * partner in the dataset, else another image of the same identity, else its own mirror image.
 */

import { GabnError } from '../../base/errors.ts';
import { createPrng } from '../../base/random.ts';
import type { MeanWithInterval } from '../../base/statistics.ts';
import type { Dataset, FaceImage } from '../../data/dataset.ts';
import { flipHorizontal, loadAlignedImage } from '../../data/image.ts';
import { partnerIndex } from '../../data/partners.ts';
import { tf } from '../../engine/tf.ts';
import { GroupAttentionAccumulator } from '../../eval/attention-stats.ts';
import { type AttributionMethod, computeAttribution } from '../../gabn/attribution.ts';
import { type EraseOptions, type Rect, sensitiveRegionMasks } from '../../gabn/masks.ts';
import type { Embedder } from '../../models/embedder.ts';
import { AverageFace, denormalise, type RgbImage } from '../../report/figures/attention-figures.ts';

export interface AttentionJobOptions {
  /** Groups to process (default all). */
  readonly groups?: readonly string[];
  /** At most this many images per group (default all), spread evenly over the group's images. */
  readonly limit?: number;
  readonly method?: AttributionMethod;
  /** s of the GAM's softmax (default 64). */
  readonly scale?: number;
  readonly batchSize?: number;
  readonly erase: EraseOptions;
  readonly seed: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
  /** Receives every image's face, map and rectangles as it is computed. */
  readonly onImage?: (image: FaceImage, face: RgbImage, map: Float32Array, rects: Rect[]) => Promise<void>;
}

export interface GroupAttentionResult {
  readonly group: string;
  readonly images: number;
  /** Maps that were all zero (no gradient reached the image): left out of the statistics. */
  readonly empty: number;
  readonly massFraction: MeanWithInterval;
  readonly entropy: MeanWithInterval;
  /** The share of attention on the network's stride lattice, where its stride is known. */
  readonly lattice?: { readonly share: MeanWithInterval; readonly area: number };
  readonly averageFace: RgbImage;
  /** Mean of the per-image maps, each divided by its own maximum. */
  readonly averageMap: Float32Array;
}

export interface AttentionJobResult {
  readonly method: AttributionMethod;
  readonly inputSize: number;
  readonly groups: GroupAttentionResult[];
  readonly failed: { file: string; message: string }[];
}

/** `limit` items spread evenly over `items` (all of them when there are no more than `limit`). */
export function evenlySpaced<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  return Array.from({ length: limit }, (_, k) => items[Math.floor((k * items.length) / limit)]!);
}

export async function extractAttention(
  embedder: Embedder,
  dataset: Dataset,
  options: AttentionJobOptions,
): Promise<AttentionJobResult> {
  const method: AttributionMethod = options.method ?? (embedder.model.head ? 'gam' : 'pair-gam');
  if (method === 'gam' && !embedder.model.head) {
    throw new GabnError('usage', `${embedder.architecture} has no identity head: use the pair GAM`, {
      expected: "method 'pair-gam' or 'grad-cam'",
    });
  }
  const size = embedder.inputSize;
  const groups = options.groups ?? dataset.groups;
  for (const g of groups) {
    if (!dataset.groups.includes(g)) {
      throw new GabnError('usage', `no group '${g}' in ${dataset.root}`, {
        expected: `one of ${dataset.groups.join(', ')}`,
      });
    }
  }
  const selected = groups.map((group) => {
    const indices = dataset.images.flatMap((image, i) => (image.group === group ? [i] : []));
    return { group, indices: options.limit === undefined ? indices : evenlySpaced(indices, options.limit) };
  });
  const total = selected.reduce((n, s) => n + s.indices.length, 0);
  const partnerOf = partnerIndex(dataset);
  const batch = options.batchSize ?? 8;
  const prng = createPrng(options.seed);
  const failed: { file: string; message: string }[] = [];
  const results: GroupAttentionResult[] = [];
  let done = 0;
  for (const { group, indices } of selected) {
    const average = new AverageFace(size, size);
    const attention = new GroupAttentionAccumulator(
      embedder.stride === undefined ? undefined : { height: size, width: size, stride: embedder.stride },
    );
    for (let start = 0; start < indices.length; start += batch) {
      if (options.signal?.aborted) throw new GabnError('cancelled', 'attention extraction was cancelled');
      const chunk = indices.slice(start, start + batch);
      const loaded: { index: number; x: Float32Array; partner: Float32Array }[] = [];
      for (const index of chunk) {
        try {
          const x = await loadAlignedImage(dataset.images[index]!, size);
          let partner = x;
          if (method !== 'gam') {
            const p = partnerOf(index);
            partner =
              p === undefined ? flipHorizontal(x, size) : await loadAlignedImage(dataset.images[p]!, size);
          }
          loaded.push({ index, x, partner });
        } catch (error) {
          if (!(error instanceof GabnError)) throw error;
          failed.push({ file: dataset.images[index]!.relative, message: error.message });
        }
      }
      done += chunk.length - loaded.length;
      if (loaded.length === 0) continue;
      const stack = (key: 'x' | 'partner') => {
        const data = new Float32Array(loaded.length * size * size * 3);
        loaded.forEach((l, i) => {
          data.set(l[key], i * size * size * 3);
        });
        return tf.tensor4d(data, [loaded.length, size, size, 3]);
      };
      const images = stack('x');
      const partners = method === 'gam' ? undefined : stack('partner');
      let maps: Float32Array[];
      try {
        maps = (
          await computeAttribution(method, embedder.model, images, {
            ...(options.scale === undefined ? {} : { scale: options.scale }),
            ...(partners ? { partners } : {}),
          })
        ).maps;
      } finally {
        images.dispose();
        partners?.dispose();
      }
      for (const [i, l] of loaded.entries()) {
        const map = maps[i]!;
        const face = denormalise(l.x, size, size);
        average.add(face);
        attention.add(map);
        const rects = sensitiveRegionMasks(map, size, size, options.erase, prng, embedder.stride);
        await options.onImage?.(dataset.images[l.index]!, face, map, rects);
      }
      done += loaded.length;
      options.onProgress?.(done, total);
    }
    const stats = attention.result({ seed: options.seed + 1 });
    results.push({
      group,
      images: indices.length,
      empty: stats.empty,
      massFraction: stats.massFraction,
      entropy: stats.entropy,
      ...(stats.lattice ? { lattice: stats.lattice } : {}),
      averageFace: average.image(),
      // An empty group (every image unreadable) still has a map of the input's size.
      averageMap: stats.averageMap.length > 0 ? stats.averageMap : new Float32Array(size * size),
    });
  }
  return { method, inputSize: size, groups: results, failed };
}
