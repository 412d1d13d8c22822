/**
 * Exact resume: everything the next step depends on is saved with each resume checkpoint (weights,
 * batch-norm estimates, head, discriminator, momentum buffers, the epoch's image order, the position
 * in it, and the generators' states), so a run stopped and resumed ends with the same weights as one
 * that never stopped.
 */
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { createPrng, type Prng, type PrngState, restorePrng } from '../../base/random.ts';
import { tf } from '../../engine/tf.ts';
import { createSgd, disposeSgd, restoreSgd, type Sgd, sgdState } from '../../gabn/optimizer.ts';
import type { TrainState } from '../../gabn/step/index.ts';
import type { TrainingConfig } from '../../gabn/training-config.ts';
import { type LoadedCheckpoint, loadCheckpoint, saveCheckpoint } from '../../models/checkpoint.ts';
import type { JsonObject, JsonValue } from '../../models/checkpoint-schema.ts';
import { createDiscriminator } from '../../models/discriminator.ts';
import type { IResNet } from '../../models/iresnet.ts';
import { createMarginHead } from '../../models/margin-head.ts';
import { disposeParams } from '../../models/parameters.ts';
import type { TrainingSet } from './training-data.ts';

/** Where a run is, and its generators' states, as saved with a resume checkpoint. */
export interface Position {
  /** 0-based epoch in progress. */
  readonly epoch: number;
  /** Steps of that epoch already done. */
  readonly stepInEpoch: number;
  /** The epoch's image order; null at an epoch boundary (drawn when the epoch starts). */
  readonly order: number[] | null;
  readonly shuffle: PrngState;
  readonly augment: PrngState;
  readonly mask: PrngState;
  /** Seconds already spent on this epoch before the stop (so a resumed epoch reports its whole time). */
  readonly epochSeconds?: number;
}

/** The run's trainable state and the generators of its data order and augmentation. */
export interface TrainingState {
  readonly train: TrainState;
  readonly shuffle: Prng;
  readonly augment: Prng;
}

/** Seeds of the run's streams, offset from its seed so that no two streams coincide. */
const STREAM = { face: 0, head: 1, discriminator: 2, shuffle: 3, mask: 4, augment: 5 } as const;

/** A new run's state: `face` (new or from a checkpoint), a new head, discriminator and optimisers. */
export function newRunState(config: TrainingConfig, set: TrainingSet, face: IResNet): TrainingState {
  const groups = set.dataset.groups.length;
  return {
    train: {
      face,
      head: createMarginHead(face.spec.embeddingSize, set.identities, config.seed + STREAM.head),
      ...(config.modules.gamCt
        ? {
            discriminator: createDiscriminator(
              groups,
              { width: config.discriminator.width },
              config.seed + STREAM.discriminator,
            ),
            discriminatorOptimizer: createSgd({
              momentum: config.discriminator.momentum,
              weightDecay: config.discriminator.weightDecay,
            }),
          }
        : {}),
      faceOptimizer: createSgd({
        momentum: config.optimizer.momentum,
        weightDecay: config.optimizer.weightDecay,
      }),
      maskPrng: createPrng(config.seed + STREAM.mask),
    },
    shuffle: createPrng(config.seed + STREAM.shuffle),
    augment: createPrng(config.seed + STREAM.augment),
  };
}

export function faceSeed(config: TrainingConfig): number {
  return config.seed + STREAM.face;
}

/** The position of a run that has not taken a step yet. */
export function startPosition(state: TrainingState): Position {
  return {
    epoch: 0,
    stepInEpoch: 0,
    order: null,
    shuffle: state.shuffle.state(),
    augment: state.augment.state(),
    mask: state.train.maskPrng.state(),
  };
}

/** Momentum buffers of both optimisers as checkpoint slot tensors. */
async function optimizerTensors(state: TrainState): Promise<Record<string, tf.Tensor>> {
  const tensors: Record<string, tf.Tensor> = {};
  const add = async (prefix: string, sgd: Sgd | undefined) => {
    if (!sgd) return;
    for (const [name, { shape, values }] of Object.entries(await sgdState(sgd))) {
      tensors[`${prefix}/${name}`] = tf.tensor(values, shape);
    }
  };
  await add('face', state.faceOptimizer);
  await add('discriminator', state.discriminatorOptimizer);
  return tensors;
}

export interface ResumePointRequest {
  readonly runDir: string;
  /** File name inside checkpoints/, e.g. epoch-3.gabn. */
  readonly name: string;
  readonly state: TrainState;
  readonly set: TrainingSet;
  readonly config: TrainingConfig;
  readonly position: Position;
  readonly preset: string;
  readonly data: JsonObject;
  readonly metrics: JsonObject;
}

/** Saves a resume checkpoint; returns its path relative to the run folder. */
export async function saveResumePoint(request: ResumePointRequest): Promise<string> {
  const { state, set, config } = request;
  const dir = path.join(request.runDir, 'checkpoints', request.name);
  const tensors = await optimizerTensors(state);
  try {
    await saveCheckpoint(dir, {
      model: state.face,
      groups: set.dataset.groups,
      classCount: set.identities,
      head: state.head,
      margin: config.margin,
      ...(state.discriminator ? { discriminator: state.discriminator } : {}),
      optimizer: { state: { kind: 'sgd', position: request.position as unknown as JsonValue }, tensors },
      provenance: {
        data: request.data,
        config: { preset: request.preset, ...(config as unknown as JsonObject) },
        metrics: request.metrics,
      },
    });
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  return path.relative(request.runDir, dir);
}

/** The state saved in a resume checkpoint, and its position. */
export async function restoreRunState(
  file: string,
  config: TrainingConfig,
): Promise<{ state: TrainingState; position: Position }> {
  const saved: LoadedCheckpoint = await loadCheckpoint(file);
  const position = (saved.optimizer?.state as { position?: Position } | undefined)?.position;
  if (!saved.head || !position) {
    throw new GabnError('checkpoint', 'this checkpoint holds no training position', {
      file,
      expected: 'a resume checkpoint written by gabn train (with head and optimiser state)',
    });
  }
  const tensors = saved.optimizer!.tensors;
  const slots = async (prefix: string) => {
    const out: Record<string, { shape: number[]; values: Float32Array }> = {};
    for (const [name, t] of Object.entries(tensors)) {
      if (name.startsWith(`${prefix}/`)) {
        out[name.slice(prefix.length + 1)] = { shape: t.shape, values: (await t.data()) as Float32Array };
      }
    }
    return out;
  };
  const train: TrainState = {
    face: saved.model,
    head: saved.head,
    ...(saved.discriminator
      ? {
          discriminator: saved.discriminator,
          discriminatorOptimizer: restoreSgd(
            { momentum: config.discriminator.momentum, weightDecay: config.discriminator.weightDecay },
            await slots('discriminator'),
          ),
        }
      : {}),
    faceOptimizer: restoreSgd(
      { momentum: config.optimizer.momentum, weightDecay: config.optimizer.weightDecay },
      await slots('face'),
    ),
    maskPrng: restorePrng(position.mask),
  };
  for (const t of Object.values(tensors)) t.dispose();
  return {
    state: { train, shuffle: restorePrng(position.shuffle), augment: restorePrng(position.augment) },
    position,
  };
}

/** Frees the run's tensors (a run inside a longer-lived process, such as the app's worker or a test). */
export function disposeTrainState(state: TrainState): void {
  disposeParams(state.face.params);
  disposeParams(state.head.params);
  if (state.discriminator) disposeParams(state.discriminator.params);
  disposeSgd(state.faceOptimizer);
  if (state.discriminatorOptimizer) disposeSgd(state.discriminatorOptimizer);
}
