/**
 * One GABN training step, as Algorithm 1 of the paper reads:
 *   1. forward the face network, get P_max and L_conf (Eq. 5);
 *   2. the GAM of every image (Eq. 1-2);
 *   3. GAM-SFRE: erase the most sensitive regions (or random regions, the ablation);
 *   4. train the GAM discriminator on the detached GAMs (Eq. 3);
 *   5. train the face network with L_ID, L_conf and L_adv (Eq. 4, 6-8), L_adv reaching the weights
 *      through the GAM by exact double backprop.
 * The discriminator and the face network are updated in turn, every step.
 *
 * Batch norm: every pass uses batch statistics (training mode), as the paper's PyTorch training
 * would; the running estimates move once per step, in the pass whose loss is optimised.
 */
import { softmaxCrossEntropy } from '../engine/ops.ts';
import { tf } from '../engine/tf.ts';
import { GabnError } from '../errors.ts';
import { type Discriminator, discriminatorForward } from '../models/discriminator.ts';
import { forward, type IResNet } from '../models/iresnet.ts';
import { cosines, type MarginHead, type MarginOptions, marginLogits } from '../models/margin-head.ts';
import { trainableVariables } from '../models/parameters.ts';
import { applyMasks } from './apply-masks.ts';
import { gradientAttentionMap, normaliseMaps } from './gam.ts';
import { adversarialLoss, confidence, confidenceBalanceLoss, finalLoss } from './losses.ts';
import { batchErasureMasks, type Rect } from './masks.ts';
import { type Sgd, sgdStep } from './optimizer.ts';
import type { Prng } from './prng.ts';
import type { TrainingConfig } from './training-config.ts';

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

function marginOf(config: TrainingConfig): MarginOptions {
  return { kind: config.margin.kind, s: config.margin.scale, m: config.margin.margin };
}

function checkBatch(state: TrainState, batch: TrainBatch, config: TrainingConfig): void {
  const n = batch.images.shape[0];
  if (batch.labels.length !== n || batch.groups.length !== n) {
    throw new GabnError(
      'internal',
      `a batch of ${n} images with ${batch.labels.length} labels and ${batch.groups.length} groups`,
    );
  }
  if (config.modules.gamCt && (!state.discriminator || !state.discriminatorOptimizer)) {
    throw new GabnError('config', 'GAM-CT is on but the run has no discriminator');
  }
}

/** Steps 1-3: confidence, GAM (detached) and erasure. */
export function prepareStep(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  groupCount: number,
) {
  const margin = marginOf(config);
  const labels = tf.tensor1d(batch.labels, 'int32');
  const pMax = tf.tidy(() => {
    const e = forward(state.face, batch.images, { training: true, updateStats: false });
    return confidence(marginLogits(cosines(state.head, e), labels, margin));
  });
  const pMaxValues = pMax.dataSync() as Float32Array;
  pMax.dispose();
  labels.dispose();
  const sums = new Array<number>(groupCount).fill(0);
  const counts = new Array<number>(groupCount).fill(0);
  batch.groups.forEach((g, i) => {
    sums[g]! += pMaxValues[i]!;
    counts[g]!++;
  });
  const groupConfidence = sums.map((s, g) => (counts[g]! > 0 ? s / counts[g]! : Number.NaN));
  const confidenceLoss = config.modules.confidenceBalance
    ? confidenceBalanceLoss(pMaxValues, config.confidence.threshold)
    : 0;
  const needsGam = config.modules.gamCt || config.modules.sfre;
  const embedTrain = (x: tf.Tensor4D) => forward(state.face, x, { training: true, updateStats: false });
  const head = { weight: state.head.params.weight as tf.Tensor2D };
  const gam = needsGam
    ? tf.tidy(() =>
        normaliseMaps(gradientAttentionMap(embedTrain, head, batch.images, { scale: config.gamScale })),
      )
    : null;
  let rects: Rect[][] | null = null;
  let identityImages = batch.images;
  const [n, size] = batch.images.shape;
  if (config.modules.sfre || config.modules.randomErase) {
    const values = gam === null ? new Float32Array(n * size * size) : (gam.dataSync() as Float32Array);
    const maps = Array.from({ length: n }, (_, i) => values.subarray(i * size * size, (i + 1) * size * size));
    rects = batchErasureMasks(
      config.modules.sfre ? 'sfre' : 'random',
      maps,
      size,
      size,
      config.erase,
      state.maskPrng,
    );
    identityImages = applyMasks(batch.images, rects);
  }
  return { context: { identityImages, confidenceLoss, rects } satisfies StepContext, gam, groupConfidence };
}

/** Step 4: the discriminator on detached GAMs (Eq. 3). Returns its loss and accuracy before the update. */
export function discriminatorStep(
  state: TrainState,
  gam: tf.Tensor3D,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
) {
  const d = state.discriminator!;
  const groups = tf.tensor1d(batch.groups, 'int32');
  let accuracy = 0;
  const { value, grads } = tf.variableGrads(() => {
    const logits = discriminatorForward(d, gam, { training: true });
    const predicted = tf.argMax(logits, 1).dataSync();
    accuracy = batch.groups.reduce((a, g, i) => a + (predicted[i] === g ? 1 : 0), 0) / batch.groups.length;
    return softmaxCrossEntropy(logits, groups) as tf.Scalar;
  }, trainableVariables(d.params));
  const byName = Object.fromEntries(Object.entries(d.params).filter(([, v]) => v.trainable));
  const gradsByName = Object.fromEntries(Object.entries(byName).map(([name, v]) => [name, grads[v.name]!]));
  sgdStep(
    state.discriminatorOptimizer!,
    byName,
    gradsByName,
    (learningRate * config.discriminator.learningRate) / config.optimizer.learningRate,
  );
  const loss = value.dataSync()[0]!;
  value.dispose();
  groups.dispose();
  for (const g of Object.values(grads)) g.dispose();
  return { loss, accuracy };
}

/**
 * Step 5's loss: Eq. 8 (configured objective) on the identity images, with L_adv from the
 * discriminator on the GAM of the original images, connected to the weights (double backprop).
 */
export function faceLoss(
  state: TrainState,
  batch: TrainBatch,
  context: StepContext,
  config: TrainingConfig,
  groupCount: number,
  updateStats: boolean,
): { loss: tf.Scalar; identity: tf.Scalar; adversarial: tf.Scalar | null } {
  const margin = marginOf(config);
  const labels = tf.tensor1d(batch.labels, 'int32');
  const e = forward(state.face, context.identityImages, { training: true, updateStats });
  const cos = cosines(state.head, e);
  const identity = softmaxCrossEntropy(marginLogits(cos, labels, margin), labels) as tf.Scalar;
  let adversarial: tf.Scalar | null = null;
  if (config.modules.gamCt) {
    const embedTrain = (x: tf.Tensor4D) => forward(state.face, x, { training: true, updateStats: false });
    const head = { weight: state.head.params.weight as tf.Tensor2D };
    const gam = normaliseMaps(
      gradientAttentionMap(embedTrain, head, batch.images, { scale: config.gamScale }),
    );
    adversarial = adversarialLoss(
      discriminatorForward(state.discriminator!, gam, { training: true, updateStats: false }),
    );
  }
  const loss = finalLoss({
    cos,
    labels,
    margin,
    confidenceLoss: context.confidenceLoss,
    adversarial,
    groups: groupCount,
    lambdaConfidence: config.confidence.lambda,
    lambdaAdversarial: config.adversarial.lambda,
    objective: config.objective,
  });
  return { loss, identity, adversarial };
}

/** Step 5: one update of the face network and its head on Eq. 8. Returns the loss before the update. */
export function faceStep(
  state: TrainState,
  batch: TrainBatch,
  context: StepContext,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
): { loss: number; identityLoss: number; adversarialLoss: number | null } {
  let identityLoss = 0;
  let adversarialLoss: number | null = null;
  const faceParams = Object.fromEntries([
    ...Object.entries(state.face.params).filter(([, v]) => v.trainable),
    ...Object.entries(state.head.params).map(([k, v]) => [`head.${k}`, v] as const),
  ]);
  // The loss pass moves the batch-norm running estimates; keep them so a bad step can be undone.
  const buffers = Object.values(state.face.params).filter((v) => !v.trainable);
  const saved = buffers.map((v) => tf.clone(v));
  const { value, grads } = tf.variableGrads(() => {
    const parts = faceLoss(state, batch, context, config, groupCount, true);
    identityLoss = parts.identity.dataSync()[0]!;
    adversarialLoss = parts.adversarial === null ? null : parts.adversarial.dataSync()[0]!;
    return parts.loss;
  }, Object.values(faceParams));
  try {
    const loss = value.dataSync()[0]!;
    const gradsByName = Object.fromEntries(
      Object.entries(faceParams).map(([name, v]) => [name, grads[v.name]!]),
    );
    const finite =
      Number.isFinite(loss) &&
      Object.values(gradsByName).every((g) => tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0] === 1));
    if (!finite) {
      buffers.forEach((v, k) => {
        v.assign(saved[k]!);
      });
      throw new GabnError(
        'internal',
        `the loss or its gradient is not finite (loss ${loss}): the weights were left unchanged`,
      );
    }
    sgdStep(state.faceOptimizer, faceParams, gradsByName, learningRate);
    return { loss, identityLoss, adversarialLoss };
  } finally {
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    for (const t of saved) t.dispose();
  }
}

/** Algorithm 1, one step: steps 1-3, then the discriminator and the face network in turn. */
export function trainStep(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
): StepMetrics {
  checkBatch(state, batch, config);
  const { context, gam, groupConfidence } = prepareStep(state, batch, config, groupCount);
  try {
    const discriminator = config.modules.gamCt
      ? discriminatorStep(state, gam!, batch, config, learningRate)
      : null;
    const face = faceStep(state, batch, context, config, learningRate, groupCount);
    return {
      loss: face.loss,
      identityLoss: face.identityLoss,
      adversarialLoss: face.adversarialLoss,
      discriminatorLoss: discriminator?.loss ?? null,
      discriminatorAccuracy: discriminator?.accuracy ?? null,
      confidenceLoss: context.confidenceLoss,
      groupConfidence,
    };
  } finally {
    gam?.dispose();
    if (context.identityImages !== batch.images) context.identityImages.dispose();
  }
}
