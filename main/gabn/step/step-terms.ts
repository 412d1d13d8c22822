/**
 * The terms of Algorithm 1 that every way of taking a step assembles the same way: the GAM of the
 * batch (Eq. 1-2) with the cosines of its forward pass, P_max (Eq. 5's input), the erasure
 * rectangles, the discriminator's update on detached maps (Eq. 3), L_adv (Eq. 4), the face network's
 * objective (Eq. 6-8), and the guarded update of the face network. Those that read values are
 * readings (reads.ts): the same code on backends that read synchronously and on webgpu.
 */
import { tf } from '../../engine/tf.ts';
import { discriminatorForward } from '../../models/discriminator.ts';
import { forward } from '../../models/iresnet.ts';
import { marginLogits } from '../../models/margin-head.ts';
import { gradientAttentionMapWithCosines } from '../gam.ts';
import { adversarialLoss, confidence, discriminatorLoss, finalLoss } from '../losses.ts';
import { batchErasureMasks, type Rect } from '../masks.ts';
import { sgdStep } from '../optimizer.ts';
import type { TrainingConfig } from '../training-config.ts';
import { gradientsFinite, type Reading, readNow, readScalars } from './reads.ts';
import {
  discriminatorParams,
  disposeGradients,
  type Gradients,
  gradientsByName,
  NonFiniteStepError,
  type SavedStatistics,
  type TrainState,
} from './step-state.ts';

/** The face network in training mode (batch statistics); `updateStats` moves its running estimates. */
export function embedTrain(state: TrainState, x: tf.Tensor4D, updateStats = false): tf.Tensor2D {
  return forward(state.face, x, { training: true, updateStats });
}

/**
 * The raw GAM of `images` (Eq. 1-2) and the cosines of its forward pass (kept: the caller disposes).
 * `updateStats` when that pass is also the identity loss's: the running estimates move once a step.
 */
export function attentionAndCosines(
  state: TrainState,
  images: tf.Tensor4D,
  config: TrainingConfig,
  updateStats = false,
) {
  const head = { weight: state.head.params.weight as tf.Tensor2D };
  return gradientAttentionMapWithCosines((x) => embedTrain(state, x, updateStats), head, images, {
    scale: config.gamScale,
  });
}

/**
 * P_max of every image from the margin logits of its cosines (Eq. 5's input). A non-finite value
 * (diverged weights, a corrupt input) stops the step here, before maps and masks are derived from it.
 */
export function* confidenceReading(
  cos: tf.Tensor2D,
  labels: Int32Array,
  config: TrainingConfig,
): Reading<Float32Array> {
  const pMax = (yield tf.tidy(() =>
    confidence(marginLogits(cos, tf.tensor1d(labels, 'int32'), config.margin)),
  )) as Float32Array;
  const bad = pMax.findIndex((p) => !Number.isFinite(p));
  if (bad !== -1) throw new NonFiniteStepError(`the confidence of image ${bad} is ${pMax[bad]}`);
  return pMax;
}

/** P_max read at once (the single-pass step, inside its tape). */
export function readConfidence(cos: tf.Tensor2D, labels: Int32Array, config: TrainingConfig): Float32Array {
  return readNow(confidenceReading(cos, labels, config));
}

/** The values of the normalised GAMs, which place GAM-SFRE's rectangles; none without a GAM. */
export function* mapValues(gam: tf.Tensor3D | null): Reading<Float32Array | null> {
  return gam === null ? null : ((yield tf.clone(gam)) as Float32Array);
}

/** The erasure's rectangles: GAM-SFRE's from the maps' values, random erase's from the run's generator alone. */
export function erasureRects(
  state: TrainState,
  gamValues: Float32Array | null,
  count: number,
  size: number,
  config: TrainingConfig,
): Rect[][] {
  const pixels = size * size;
  const values = gamValues ?? new Float32Array(count * pixels);
  const maps = Array.from({ length: count }, (_, i) => values.subarray(i * pixels, (i + 1) * pixels));
  const kind = config.modules.sfre ? 'sfre' : 'random';
  return batchErasureMasks(kind, maps, size, size, config.erase, state.maskPrng);
}

/**
 * Eq. 3 on detached GAMs: the discriminator's loss, accuracy and gradients (no update). The predicted
 * groups are kept out of the tape and read after it.
 */
export function* discriminatorGradients(
  state: TrainState,
  gam: tf.Tensor3D,
  groups: Int32Array,
): Reading<{ loss: number; accuracy: number; grads: Gradients }> {
  const d = state.discriminator!;
  const groupTensor = tf.tensor1d(groups, 'int32');
  let predicted: tf.Tensor | null = null;
  const params = discriminatorParams(state);
  const { value, grads } = tf.variableGrads(() => {
    const logits = discriminatorForward(d, gam, { training: true });
    predicted = tf.keep(tf.argMax(logits, 1));
    return discriminatorLoss(logits, groupTensor);
  }, Object.values(params));
  groupTensor.dispose();
  const named = gradientsByName(params, grads);
  try {
    const classes = yield predicted!;
    const accuracy = groups.reduce((a, g, i) => a + (classes[i] === g ? 1 : 0), 0) / groups.length;
    const [loss] = yield* readScalars(value);
    return { loss: loss!, accuracy, grads: named };
  } catch (error) {
    disposeGradients(named);
    throw error;
  }
}

/** One SGD update of the discriminator (its rate follows the face network's schedule), then frees `grads`. */
export function updateDiscriminator(
  state: TrainState,
  grads: Gradients,
  config: TrainingConfig,
  learningRate: number,
): void {
  const rate = (learningRate * config.discriminator.learningRate) / config.optimizer.learningRate;
  sgdStep(state.discriminatorOptimizer!, discriminatorParams(state), grads, rate);
  disposeGradients(grads);
}

/** Eq. 4: L_adv of the discriminator on the (attached) normalised GAMs; D's own statistics do not move. */
export function adversarialTerm(state: TrainState, gam: tf.Tensor3D): tf.Scalar {
  return adversarialLoss(
    discriminatorForward(state.discriminator!, gam, { training: true, updateStats: false }),
  );
}

/** Eq. 6-8 under the configured objective: the face network's loss on the identity images' cosines. */
export function faceObjective(
  cos: tf.Tensor2D,
  labels: tf.Tensor1D,
  config: TrainingConfig,
  confidenceLoss: number,
  adversarial: tf.Scalar | null,
  groupCount: number,
): tf.Scalar {
  return finalLoss({
    cos,
    labels,
    margin: config.margin,
    confidenceLoss,
    adversarial,
    groups: groupCount,
    lambdaConfidence: config.confidence.lambda,
    lambdaAdversarial: config.adversarial.lambda,
    objective: config.objective,
  });
}

/**
 * The update of the face network and its head, or none: a loss or gradient that is not finite puts
 * the batch-norm estimates back and throws NonFiniteStepError. Frees `grads` and `statistics`.
 */
export function* applyFaceUpdate(
  state: TrainState,
  params: Record<string, tf.Variable>,
  loss: number,
  grads: Gradients,
  learningRate: number,
  statistics: SavedStatistics,
): Reading<void> {
  try {
    if (!(Number.isFinite(loss) && (yield* gradientsFinite(grads)))) {
      statistics.restore();
      throw new NonFiniteStepError(`loss ${loss}`);
    }
    sgdStep(state.faceOptimizer, params, grads, learningRate);
  } finally {
    disposeGradients(grads);
    statistics.dispose();
  }
}
