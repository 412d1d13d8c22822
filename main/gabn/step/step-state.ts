/**
 * What a training step works on and reports, and the bookkeeping every way of taking a step shares:
 * the parameters by name, gradients by name, the non-finite guard, and the batch-norm estimates
 * saved so that a refused step changes nothing.
 */
import { GabnError } from '../../base/errors.ts';
import type { Prng } from '../../base/random.ts';
import { tf } from '../../engine/tf.ts';
import type { Discriminator } from '../../models/discriminator.ts';
import type { IResNet } from '../../models/iresnet.ts';
import type { MarginHead } from '../../models/margin-head.ts';
import type { Rect } from '../masks.ts';
import type { Sgd } from '../optimizer.ts';

export interface TrainState {
  readonly face: IResNet;
  readonly head: MarginHead;
  /** Present when GAM-CT is on. */
  readonly discriminator?: Discriminator;
  readonly faceOptimizer: Sgd;
  readonly discriminatorOptimizer?: Sgd;
  /** Draws the erasure rectangles (saved with the run so a resumed run draws the same ones). */
  readonly maskPrng: Prng;
}

export interface TrainBatch {
  /** Normalised images [N, S, S, 3]. */
  readonly images: tf.Tensor4D;
  /** Identity index of each image (the head's class). */
  readonly labels: Int32Array;
  /** Group index of each image. */
  readonly groups: Int32Array;
}

export interface StepMetrics {
  /** The face network's loss (Eq. 8 under the configured objective) before the update. */
  readonly loss: number;
  /** Margin softmax cross entropy (Eq. 6) on the images the identity loss saw. */
  readonly identityLoss: number;
  readonly adversarialLoss: number | null;
  readonly discriminatorLoss: number | null;
  readonly discriminatorAccuracy: number | null;
  /** Eq. 5: fraction of samples with P_max ≥ T_conf. */
  readonly confidenceLoss: number;
  /** Mean P_max per group (the paper's Fig. 3), NaN for a group absent from the batch. */
  readonly groupConfidence: number[];
}

/** What the face loss of a step depends on besides the weights: fixed before the update. */
export interface StepContext {
  readonly identityImages: tf.Tensor4D;
  readonly confidenceLoss: number;
  readonly rects: Rect[][] | null;
}

/** A step whose loss, gradient or forward pass is not finite: nothing was changed. */
export class NonFiniteStepError extends GabnError {
  constructor(what: string) {
    super('diverged', `the loss or its gradient is not finite (${what}): the weights were left unchanged`);
  }
}

export type Gradients = Record<string, tf.Tensor>;

export function disposeGradients(grads: Gradients): void {
  for (const g of Object.values(grads)) g.dispose();
}

/** The discriminator's trainable parameters by name. */
export function discriminatorParams(state: TrainState): Record<string, tf.Variable> {
  return Object.fromEntries(Object.entries(state.discriminator!.params).filter(([, v]) => v.trainable));
}

/** The face network's and its head's trainable parameters by name. */
export function faceParams(state: TrainState): Record<string, tf.Variable> {
  return Object.fromEntries([
    ...Object.entries(state.face.params).filter(([, v]) => v.trainable),
    ...Object.entries(state.head.params).map(([k, v]) => [`head.${k}`, v] as const),
  ]);
}

/** tf.variableGrads keys its gradients by variable name; the optimiser wants them by parameter name. */
export function gradientsByName(params: Record<string, tf.Variable>, grads: tf.NamedTensorMap): Gradients {
  return Object.fromEntries(Object.entries(params).map(([name, v]) => [name, grads[v.name]!]));
}

/** The batch-norm running estimates, saved so that a step that goes wrong can be undone. */
export interface SavedStatistics {
  restore(): void;
  dispose(): void;
}

export function saveStatistics(state: TrainState): SavedStatistics {
  const buffers = Object.values(state.face.params).filter((v) => !v.trainable);
  const saved = buffers.map((v) => tf.clone(v));
  return {
    restore: () =>
      buffers.forEach((v, k) => {
        v.assign(saved[k]!);
      }),
    dispose: () => {
      for (const t of saved) t.dispose();
    },
  };
}

/** Mean P_max of each group (the paper's Fig. 3); NaN for a group absent from the batch. */
export function meanConfidenceByGroup(pMax: Float32Array, groups: Int32Array, groupCount: number): number[] {
  const sums = new Array<number>(groupCount).fill(0);
  const counts = new Array<number>(groupCount).fill(0);
  groups.forEach((g, i) => {
    sums[g]! += pMax[i]!;
    counts[g]!++;
  });
  return sums.map((total, g) => (counts[g]! > 0 ? total / counts[g]! : Number.NaN));
}

export function checkBatch(state: TrainState, batch: TrainBatch, gamCt: boolean): void {
  const n = batch.images.shape[0];
  if (batch.labels.length !== n || batch.groups.length !== n) {
    throw new GabnError(
      'internal',
      `a batch of ${n} images with ${batch.labels.length} labels and ${batch.groups.length} groups`,
    );
  }
  if (gamCt && (!state.discriminator || !state.discriminatorOptimizer)) {
    throw new GabnError('config', 'GAM-CT is on but the run has no discriminator');
  }
}
