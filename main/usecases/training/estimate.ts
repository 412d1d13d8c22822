/**
 * How long an epoch of a run would take on this machine and backend, from a few probe steps of the
 * run itself: the same data, network, modules and batch, so the estimate holds what the run will
 * really compute (GAM-CT's double backprop, GAM-SFRE's masks, micro-batches). The first step is timed
 * apart, as it compiles the backend's kernels; validation is estimated from the time to embed a
 * sample of the validation set. Nothing is written: the probe steps train a throw-away copy.
 */
import { GabnError } from '../../base/errors.ts';
import { loadAlignedImage } from '../../data/image.ts';
import { AlignedImageCache } from '../../data/image-cache.ts';
import { tf } from '../../engine/tf.ts';
import { learningRateAt } from '../../gabn/optimizer.ts';
import { epochOrder } from '../../gabn/sampler.ts';
import { trainStep } from '../../gabn/step/index.ts';
import { specName } from '../../models/iresnet-spec.ts';
import { evenlySpaced } from '../attention/attention-over-dataset.ts';
import { initialState } from './initial-state.ts';
import type { EpochEstimate } from './records.ts';
import { disposeTrainState } from './resume-point.ts';
import type { TrainingParams } from './session.ts';
import { loadBatch } from './training-data.ts';
import { liveEmbedder } from './validation.ts';

export type { EpochEstimate } from './records.ts';

export interface EstimateOptions {
  /** Steps timed after the first (default 3). */
  readonly probeSteps?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Images embedded to time validation. */
const VALIDATION_SAMPLE = 16;

export async function estimateEpoch(
  params: TrainingParams,
  options: EstimateOptions = {},
): Promise<EpochEstimate> {
  const parts = await initialState(params);
  const { set, config, state, steps } = parts;
  const groups = set.dataset.groups.length;
  try {
    const probes = Math.max(1, Math.min(options.probeSteps ?? 3, steps - 1));
    const total = probes + 1 + (parts.val ? 1 : 0);
    const order = epochOrder(set.groupOf, groups, config.sampling, state.shuffle);
    const { learningRate, milestones, decay } = config.optimizer;
    const lr = learningRateAt(0, learningRate, milestones, decay);
    const cache = new AlignedImageCache();
    const seconds: number[] = [];
    for (let k = 0; k <= probes && k < steps; k++) {
      if (options.signal?.aborted) throw new GabnError('cancelled', 'the estimate was cancelled');
      const began = performance.now();
      const indices = order.slice(k * config.batchSize, (k + 1) * config.batchSize);
      const batch = await loadBatch(set, indices, config.model.inputSize, cache, state.augment);
      try {
        trainStep(state.train, batch, config, lr, groups);
      } finally {
        batch.images.dispose();
      }
      seconds.push((performance.now() - began) / 1000);
      options.onProgress?.(k + 1, total);
    }
    const [first, ...timed] = seconds as [number, ...number[]];
    const secondsPerStep = timed.length > 0 ? timed.reduce((a, b) => a + b, 0) / timed.length : first;
    let validationSeconds = 0;
    if (parts.val) {
      validationSeconds = await timeValidation(parts, config.model.inputSize);
      options.onProgress?.(total, total);
    }
    return {
      network: specName(state.train.face.spec),
      backend: tf.getBackend(),
      images: set.dataset.images.length,
      identities: set.identities,
      groups,
      stepsPerEpoch: steps,
      epochs: config.epochs,
      probeSteps: timed.length,
      firstStepSeconds: first,
      secondsPerStep,
      validationSeconds,
      secondsPerEpoch: steps * secondsPerStep + validationSeconds,
    };
  } finally {
    disposeTrainState(state.train);
  }
}

/** Validation embeds every image and its mirror image: the time of a sample, scaled to the set. */
async function timeValidation(
  parts: Awaited<ReturnType<typeof initialState>>,
  size: number,
): Promise<number> {
  const val = parts.val!;
  const sample = evenlySpaced(val.images, VALIDATION_SAMPLE);
  const embed = liveEmbedder(parts.state.train, parts.set, parts.config).model.embed;
  const run = async () => {
    const began = performance.now();
    const faces = await Promise.all(sample.map((image) => loadAlignedImage(image, size)));
    const pixels = new Float32Array(faces.length * size * size * 3);
    faces.forEach((face, k) => {
      pixels.set(face, k * size * size * 3);
    });
    const x = tf.tensor4d(pixels, [faces.length, size, size, 3]);
    const flipped = tf.reverse(x, 2);
    const e = tf.tidy(() => tf.add(embed(x), embed(flipped)));
    await e.data();
    tf.dispose([x, flipped, e]);
    return (performance.now() - began) / 1000;
  };
  // The first pass compiles the kernels of inference.
  await run();
  return ((await run()) / sample.length) * val.images.length;
}
