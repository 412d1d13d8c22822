/**
 * The training set as a step needs it: identities as the head's classes, groups as the
 * discriminator's, and batches of aligned, normalised, randomly flipped faces.
 */
import { GabnError } from '../../base/errors.ts';
import type { Prng } from '../../base/random.ts';
import type { Dataset } from '../../data/dataset.ts';
import { flipHorizontal } from '../../data/image.ts';
import type { AlignedImageCache } from '../../data/image-cache.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { tf } from '../../engine/tf.ts';
import type { TrainBatch } from '../../gabn/step/index.ts';
import type { TrainingConfig } from '../../gabn/training-config.ts';

export interface TrainingSet {
  readonly dataset: Dataset;
  /** Each image's class: its identity within its group. */
  readonly labels: Int32Array;
  /** Each image's group index, in dataset.groups order. */
  readonly groupOf: Int32Array;
  readonly identities: number;
}

export function loadTrainingSet(root: string): TrainingSet {
  const dataset = loadDataset(root);
  if (dataset.images.length === 0) {
    throw new GabnError('dataset', 'the training set has no images', {
      file: root,
      expected: '<root>/<group>/<identity>/<image>.jpg (BUPT layout) or a manifest CSV',
    });
  }
  const keys = [...new Set(dataset.images.map((i) => `${i.group}/${i.identity}`))].sort();
  const index = new Map(keys.map((k, i) => [k, i]));
  return {
    dataset,
    labels: Int32Array.from(dataset.images, (i) => index.get(`${i.group}/${i.identity}`)!),
    groupOf: Int32Array.from(dataset.images, (i) => dataset.groups.indexOf(i.group)),
    identities: keys.length,
  };
}

/** Steps per epoch: the epoch's images over the batch size, the last partial batch left out. */
export function stepsPerEpoch(set: TrainingSet, config: TrainingConfig): number {
  // Group-balanced epochs have as many images as natural ones (up to rounding to the groups).
  const groups = new Set(set.groupOf).size;
  const images =
    config.sampling === 'natural' ? set.groupOf.length : Math.floor(set.groupOf.length / groups) * groups;
  const steps = Math.floor(images / config.batchSize);
  if (steps === 0) {
    throw new GabnError('config', `batchSize ${config.batchSize} is larger than the training set`, {
      expected: `at most ${images} (the training set's images)`,
    });
  }
  return steps;
}

/** The images at `indices`, each flipped horizontally with probability ½ (insightface's augmentation). */
export async function loadBatch(
  set: TrainingSet,
  indices: readonly number[],
  size: number,
  cache: AlignedImageCache,
  augment: Prng,
): Promise<TrainBatch> {
  const pixels = new Float32Array(indices.length * size * size * 3);
  for (const [k, i] of indices.entries()) {
    const face = await cache.get(set.dataset.images[i]!, size);
    pixels.set(augment.next() < 0.5 ? flipHorizontal(face, size) : face, k * size * size * 3);
  }
  return {
    images: tf.tensor4d(pixels, [indices.length, size, size, 3]),
    labels: Int32Array.from(indices, (i) => set.labels[i]!),
    groups: Int32Array.from(indices, (i) => set.groupOf[i]!),
  };
}
