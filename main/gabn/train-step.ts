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
import { applyMasks } from './apply-masks.ts';
import { gradientAttentionMapWithCosines, normaliseMaps } from './gam.ts';
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

/** Mean P_max of each group (the paper's Fig. 3); NaN for a group absent from the batch. */
function meanConfidenceByGroup(pMax: Float32Array, groups: Int32Array, groupCount: number): number[] {
  const sums = new Array<number>(groupCount).fill(0);
  const counts = new Array<number>(groupCount).fill(0);
  groups.forEach((g, i) => {
    sums[g]! += pMax[i]!;
    counts[g]!++;
  });
  return sums.map((total, g) => (counts[g]! > 0 ? total / counts[g]! : Number.NaN));
}

/** The face network in training mode (batch statistics) without moving its running estimates. */
function embedTrain(state: TrainState, x: tf.Tensor4D): tf.Tensor2D {
  return forward(state.face, x, { training: true, updateStats: false });
}

/**
 * The raw GAM of `images` (Eq. 1-2) and the cosines of its forward pass (kept: the caller disposes).
 * `updateStats` when that pass is also the identity loss's: the running estimates move once a step.
 */
function attentionAndCosines(
  state: TrainState,
  images: tf.Tensor4D,
  config: TrainingConfig,
  updateStats = false,
) {
  const head = { weight: state.head.params.weight as tf.Tensor2D };
  const embed = (x: tf.Tensor4D) => forward(state.face, x, { training: true, updateStats });
  return gradientAttentionMapWithCosines(embed, head, images, { scale: config.gamScale });
}

/**
 * P_max of every image from the margin logits of its cosines (Eq. 5's input). A non-finite value
 * (diverged weights, a corrupt input) stops the step here, before maps and masks are derived from it.
 */
function readConfidence(cos: tf.Tensor2D, labels: Int32Array, config: TrainingConfig): Float32Array {
  const pMax = tf.tidy(() =>
    confidence(marginLogits(cos, tf.tensor1d(labels, 'int32'), marginOf(config))).dataSync(),
  ) as Float32Array;
  const bad = pMax.findIndex((p) => !Number.isFinite(p));
  if (bad !== -1) throw new NonFiniteStepError(`the confidence of image ${bad} is ${pMax[bad]}`);
  return pMax;
}

/** Steps 1-3: confidence, GAM (detached) and erasure. */
export function prepareStep(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  groupCount: number,
) {
  const needsGam = config.modules.gamCt || config.modules.sfre;
  // One pass gives both: the GAM's forward pass holds the cosines P_max is read from.
  const attention = needsGam ? tf.tidy(() => attentionAndCosines(state, batch.images, config)) : null;
  const gam = attention === null ? null : tf.tidy(() => normaliseMaps(attention.map));
  attention?.map.dispose();
  const cos = attention?.cosines ?? tf.tidy(() => cosines(state.head, embedTrain(state, batch.images)));
  let pMaxValues: Float32Array;
  try {
    pMaxValues = readConfidence(cos, batch.labels, config);
  } catch (error) {
    gam?.dispose();
    throw error;
  } finally {
    cos.dispose();
  }
  const groupConfidence = meanConfidenceByGroup(pMaxValues, batch.groups, groupCount);
  const confidenceLoss = config.modules.confidenceBalance
    ? confidenceBalanceLoss(pMaxValues, config.confidence.threshold)
    : 0;
  let rects: Rect[][] | null = null;
  let identityImages = batch.images;
  const [n, size] = batch.images.shape;
  if (config.modules.sfre || config.modules.randomErase) {
    rects = erasureRects(state, gam, n, size, config);
    identityImages = applyMasks(batch.images, rects);
  }
  return {
    context: { identityImages, confidenceLoss, rects } satisfies StepContext,
    gam,
    groupConfidence,
    pMax: pMaxValues,
  };
}

/** Step 3's rectangles: GAM-SFRE's from the maps, random erase's from the run's generator alone. */
function erasureRects(
  state: TrainState,
  gam: tf.Tensor3D | null,
  count: number,
  size: number,
  config: TrainingConfig,
): Rect[][] {
  const pixels = size * size;
  const values = gam === null ? new Float32Array(count * pixels) : (gam.dataSync() as Float32Array);
  const maps = Array.from({ length: count }, (_, i) => values.subarray(i * pixels, (i + 1) * pixels));
  const kind = config.modules.sfre ? 'sfre' : 'random';
  return batchErasureMasks(kind, maps, size, size, config.erase, state.maskPrng);
}

type Gradients = Record<string, tf.Tensor>;

function disposeGradients(grads: Gradients): void {
  for (const g of Object.values(grads)) g.dispose();
}

/** The discriminator's trainable parameters by name. */
function discriminatorParams(state: TrainState): Record<string, tf.Variable> {
  return Object.fromEntries(Object.entries(state.discriminator!.params).filter(([, v]) => v.trainable));
}

/** The face network's and its head's trainable parameters by name. */
function faceParams(state: TrainState): Record<string, tf.Variable> {
  return Object.fromEntries([
    ...Object.entries(state.face.params).filter(([, v]) => v.trainable),
    ...Object.entries(state.head.params).map(([k, v]) => [`head.${k}`, v] as const),
  ]);
}

/** Eq. 3 on detached GAMs: the discriminator's loss, accuracy and gradients (no update). */
export function discriminatorGradients(state: TrainState, gam: tf.Tensor3D, groups: Int32Array) {
  const d = state.discriminator!;
  const groupTensor = tf.tensor1d(groups, 'int32');
  let accuracy = 0;
  const params = discriminatorParams(state);
  const { value, grads } = tf.variableGrads(() => {
    const logits = discriminatorForward(d, gam, { training: true });
    const predicted = tf.argMax(logits, 1).dataSync();
    accuracy = groups.reduce((a, g, i) => a + (predicted[i] === g ? 1 : 0), 0) / groups.length;
    return softmaxCrossEntropy(logits, groupTensor) as tf.Scalar;
  }, Object.values(params));
  const loss = value.dataSync()[0]!;
  value.dispose();
  groupTensor.dispose();
  const byName: Gradients = Object.fromEntries(
    Object.entries(params).map(([name, v]) => [name, grads[v.name]!]),
  );
  return { loss, accuracy, grads: byName };
}

/** One SGD update of the discriminator (its rate follows the face network's schedule), then frees `grads`. */
function updateDiscriminator(
  state: TrainState,
  grads: Gradients,
  config: TrainingConfig,
  learningRate: number,
): void {
  const rate = (learningRate * config.discriminator.learningRate) / config.optimizer.learningRate;
  sgdStep(state.discriminatorOptimizer!, discriminatorParams(state), grads, rate);
  disposeGradients(grads);
}

/** Step 4: the discriminator on detached GAMs (Eq. 3). Returns its loss and accuracy before the update. */
export function discriminatorStep(
  state: TrainState,
  gam: tf.Tensor3D,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
) {
  const { loss, accuracy, grads } = discriminatorGradients(state, gam, batch.groups);
  updateDiscriminator(state, grads, config, learningRate);
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
    const attention = attentionAndCosines(state, batch.images, config);
    attention.cosines.dispose();
    const gam = normaliseMaps(attention.map);
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

/** Eq. 8's value and gradients for the face network and head (the batch-norm estimates move). */
export function faceGradients(
  state: TrainState,
  batch: TrainBatch,
  context: StepContext,
  config: TrainingConfig,
  groupCount: number,
) {
  let identityLoss = 0;
  let adversarialLoss: number | null = null;
  const params = faceParams(state);
  const { value, grads } = tf.variableGrads(() => {
    const parts = faceLoss(state, batch, context, config, groupCount, true);
    identityLoss = parts.identity.dataSync()[0]!;
    adversarialLoss = parts.adversarial === null ? null : parts.adversarial.dataSync()[0]!;
    return parts.loss;
  }, Object.values(params));
  const loss = value.dataSync()[0]!;
  value.dispose();
  const byName: Gradients = Object.fromEntries(
    Object.entries(params).map(([name, v]) => [name, grads[v.name]!]),
  );
  return { loss, identityLoss, adversarialLoss: adversarialLoss as number | null, grads: byName };
}

function allFinite(loss: number, grads: Gradients): boolean {
  return (
    Number.isFinite(loss) &&
    Object.values(grads).every((g) => tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0] === 1))
  );
}

/** A step whose loss, gradient or forward pass is not finite: nothing was changed. */
export class NonFiniteStepError extends GabnError {
  constructor(what: string) {
    super('internal', `the loss or its gradient is not finite (${what}): the weights were left unchanged`);
  }
}

/** The batch-norm running estimates, saved so that a step that goes wrong can be undone. */
function saveStatistics(state: TrainState): { restore(): void; dispose(): void } {
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

/** Step 5: one update of the face network and its head on Eq. 8. Returns the loss before the update. */
export function faceStep(
  state: TrainState,
  batch: TrainBatch,
  context: StepContext,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
): { loss: number; identityLoss: number; adversarialLoss: number | null } {
  const statistics = saveStatistics(state);
  const { loss, identityLoss, adversarialLoss, grads } = faceGradients(
    state,
    batch,
    context,
    config,
    groupCount,
  );
  try {
    if (!allFinite(loss, grads)) {
      statistics.restore();
      throw new NonFiniteStepError(`loss ${loss}`);
    }
    sgdStep(state.faceOptimizer, faceParams(state), grads, learningRate);
    return { loss, identityLoss, adversarialLoss };
  } finally {
    disposeGradients(grads);
    statistics.dispose();
  }
}

/** A logical batch cut into micro-batches of at most `size` images (one part when size is 0 or ≥ N). */
export function microBatches(batch: TrainBatch, size: number): TrainBatch[] {
  const n = batch.images.shape[0];
  if (size <= 0 || size >= n) return [batch];
  const parts: TrainBatch[] = [];
  for (let start = 0; start < n; start += size) {
    const count = Math.min(size, n - start);
    parts.push({
      images: tf.slice(batch.images, [start, 0, 0, 0], [count, -1, -1, -1]),
      labels: batch.labels.subarray(start, start + count),
      groups: batch.groups.subarray(start, start + count),
    });
  }
  return parts;
}

/**
 * Gradients of the parts, averaged with weights (each part's share of the logical batch): the mean
 * loss over the batch has the size-weighted mean of the parts' gradients. One part: its own tensors.
 */
function accumulate<T extends { grads: Gradients }>(
  parts: readonly { weight: number; compute: () => T }[],
): { results: T[]; grads: Gradients } {
  if (parts.length === 1) {
    const result = parts[0]!.compute();
    return { results: [result], grads: result.grads };
  }
  const sum: Gradients = {};
  const results: T[] = [];
  for (const { weight, compute } of parts) {
    const result = compute();
    for (const [name, g] of Object.entries(result.grads)) {
      const previous = sum[name];
      sum[name] = tf.tidy(() => (previous ? tf.add(previous, tf.mul(g, weight)) : tf.mul(g, weight)));
      previous?.dispose();
    }
    disposeGradients(result.grads);
    results.push(result);
  }
  return { results, grads: sum };
}

function weighted(values: readonly number[], weights: readonly number[]): number {
  return values.reduce((total, v, i) => total + v * weights[i]!, 0);
}

/**
 * Algorithm 1, one step: steps 1-3, then the discriminator and the face network in turn.
 *
 * A logical batch that fits in one part runs as one pass (`singlePassStep`). With micro-batches
 * (`microBatchSize` below the batch), each network's gradient is accumulated over the parts before
 * its one update, so a logical batch larger than memory allows trains as one: L_conf and the group
 * confidences are taken over the whole batch; batch norm normalises each part with its own
 * statistics and moves its running estimates once per part (as gradient accumulation in PyTorch).
 * The phases then run apart, and the GAM of each part is computed twice (once detached for the
 * discriminator and the masks, once inside the face network's graph).
 */
export function trainStep(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
  microBatchSize: number = config.microBatchSize,
): StepMetrics {
  // Each path checks the batch itself (both are exported on their own).
  const n = batch.images.shape[0];
  if (microBatchSize <= 0 || microBatchSize >= n) {
    return singlePassStep(state, batch, config, learningRate, groupCount);
  }
  return phasedStep(state, batch, config, learningRate, groupCount, microBatchSize);
}

/** trainStep over micro-batches: the phases one after another, each over every part. */
export function phasedStep(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
  microBatchSize: number,
): StepMetrics {
  checkBatch(state, batch, config);
  const n = batch.images.shape[0];
  const parts = microBatches(batch, microBatchSize);
  const weights = parts.map((part) => part.images.shape[0] / n);
  const prepared: ReturnType<typeof prepareStep>[] = [];
  try {
    for (const part of parts) prepared.push(prepareStep(state, part, config, groupCount));
    const pMax = new Float32Array(n);
    let offset = 0;
    for (const p of prepared) {
      pMax.set(p.pMax, offset);
      offset += p.pMax.length;
    }
    const confidenceLoss = config.modules.confidenceBalance
      ? confidenceBalanceLoss(pMax, config.confidence.threshold)
      : 0;
    const contexts = prepared.map((p) => ({ ...p.context, confidenceLoss }));

    let discriminator: { loss: number; accuracy: number } | null = null;
    if (config.modules.gamCt) {
      const { results, grads } = accumulate(
        parts.map((part, k) => ({
          weight: weights[k]!,
          compute: () => discriminatorGradients(state, prepared[k]!.gam!, part.groups),
        })),
      );
      updateDiscriminator(state, grads, config, learningRate);
      discriminator = {
        loss: weighted(
          results.map((r) => r.loss),
          weights,
        ),
        accuracy: weighted(
          results.map((r) => r.accuracy),
          weights,
        ),
      };
    }

    const statistics = saveStatistics(state);
    const { results, grads } = accumulate(
      parts.map((part, k) => ({
        weight: weights[k]!,
        compute: () => faceGradients(state, part, contexts[k]!, config, groupCount),
      })),
    );
    try {
      const loss = weighted(
        results.map((r) => r.loss),
        weights,
      );
      if (!allFinite(loss, grads)) {
        statistics.restore();
        throw new NonFiniteStepError(`loss ${loss}`);
      }
      sgdStep(state.faceOptimizer, faceParams(state), grads, learningRate);
      const adversarial = results.map((r) => r.adversarialLoss);
      return {
        loss,
        identityLoss: weighted(
          results.map((r) => r.identityLoss),
          weights,
        ),
        adversarialLoss: adversarial.includes(null) ? null : weighted(adversarial as number[], weights),
        discriminatorLoss: discriminator?.loss ?? null,
        discriminatorAccuracy: discriminator?.accuracy ?? null,
        confidenceLoss,
        groupConfidence: meanConfidenceByGroup(pMax, batch.groups, groupCount),
      };
    } finally {
      disposeGradients(grads);
      statistics.dispose();
    }
  } finally {
    prepared.forEach((p, k) => {
      p.gam?.dispose();
      if (p.context.identityImages !== parts[k]!.images) p.context.identityImages.dispose();
    });
    for (const part of parts) if (part !== batch) part.images.dispose();
  }
}

/**
 * One step with every pass shared, as the paper counts it (§4.4: "2 backward propagations" per step):
 * one forward pass of the original images gives both P_max and the GAM's objective; the GAM is taken
 * once with its graph kept, and serves as the discriminator's detached input, as the guide of the
 * erasure, and, still attached, as L_adv's path to the weights. Everything runs inside the face
 * network's gradient tape; the discriminator is updated there, before L_adv reads it, as Algorithm 1
 * orders. Same values as the phased step (tests/unit/train/single-pass.test.ts).
 */
export function singlePassStep(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
): StepMetrics {
  checkBatch(state, batch, config);
  const { gamCt, sfre, randomErase, confidenceBalance } = config.modules;
  const margin = marginOf(config);
  const [n, size] = batch.images.shape;
  let pMax: Float32Array | null = null;
  let confidenceLoss = 0;
  let identityLoss = 0;
  let adversarialValue: number | null = null;
  let discriminator: { loss: number; accuracy: number } | null = null;
  const statistics = saveStatistics(state);
  const params = faceParams(state);
  // Eq. 8 of this step, built inside the face network's gradient tape.
  const stepLoss = (): tf.Scalar => {
    const labels = tf.tensor1d(batch.labels, 'int32');
    const erases = sfre || randomErase;
    let gam: tf.Tensor3D | null = null;
    // GAM-CT without erasure: the identity loss sees the very images the GAM is taken of, so the
    // GAM's forward pass is the identity pass too (one forward, as in the baseline).
    let sharedCosines: tf.Tensor2D | null = null;
    if (gamCt || sfre) {
      const attention = attentionAndCosines(state, batch.images, config, !erases);
      gam = normaliseMaps(attention.map);
      try {
        pMax = readConfidence(attention.cosines, batch.labels, config);
      } catch (error) {
        attention.cosines.dispose();
        throw error;
      }
      if (erases) attention.cosines.dispose();
      else sharedCosines = attention.cosines;
    } else if (randomErase) {
      // P_max is the confidence on the original images; the identity pass sees erased ones.
      pMax = readConfidence(cosines(state.head, embedTrain(state, batch.images)), batch.labels, config);
    }
    const identityImages = erases
      ? applyMasks(batch.images, erasureRects(state, gam, n, size, config))
      : batch.images;
    if (gamCt) {
      // A detached copy: the discriminator's loss must not reach the face network.
      const detached = tf.tensor3d(gam!.dataSync() as Float32Array, gam!.shape);
      const d = discriminatorGradients(state, detached, batch.groups);
      updateDiscriminator(state, d.grads, config, learningRate);
      discriminator = { loss: d.loss, accuracy: d.accuracy };
    }
    // Tracked by this tape's scope from here on, so it is freed with the other intermediates.
    const cos =
      sharedCosines === null
        ? cosines(state.head, forward(state.face, identityImages, { training: true, updateStats: true }))
        : tf.clone(sharedCosines);
    sharedCosines?.dispose();
    // Without erasure the identity pass sees the original images: P_max comes from it.
    if (pMax === null) pMax = readConfidence(cos, batch.labels, config);
    confidenceLoss = confidenceBalance ? confidenceBalanceLoss(pMax, config.confidence.threshold) : 0;
    identityLoss = (
      softmaxCrossEntropy(marginLogits(cos, labels, margin), labels) as tf.Scalar
    ).dataSync()[0]!;
    const adversarial = gamCt
      ? adversarialLoss(
          discriminatorForward(state.discriminator!, gam!, { training: true, updateStats: false }),
        )
      : null;
    if (adversarial !== null) adversarialValue = adversarial.dataSync()[0]!;
    return finalLoss({
      cos,
      labels,
      margin,
      confidenceLoss,
      adversarial,
      groups: groupCount,
      lambdaConfidence: config.confidence.lambda,
      lambdaAdversarial: config.adversarial.lambda,
      objective: config.objective,
    });
  };
  let failure: NonFiniteStepError | null = null;
  let outcome: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    outcome = tf.variableGrads(() => {
      try {
        return stepLoss();
      } catch (error) {
        if (!(error instanceof NonFiniteStepError)) throw error;
        // Thrown out of the tape, the tensors it saved for the backward pass would never be freed:
        // end it normally, on a loss with a zero gradient, and throw after.
        failure = error;
        return tf.mul(tf.sum(Object.values(params)[0]!), 0) as tf.Scalar;
      }
    }, Object.values(params));
  } catch (error) {
    statistics.restore();
    statistics.dispose();
    throw error;
  }
  if (failure !== null) {
    outcome.value.dispose();
    for (const g of Object.values(outcome.grads)) g.dispose();
    statistics.restore();
    statistics.dispose();
    throw failure;
  }
  const grads: Gradients = Object.fromEntries(
    Object.entries(params).map(([name, v]) => [name, outcome.grads[v.name]!]),
  );
  const loss = outcome.value.dataSync()[0]!;
  outcome.value.dispose();
  try {
    if (!allFinite(loss, grads)) {
      statistics.restore();
      throw new NonFiniteStepError(`loss ${loss}`);
    }
    sgdStep(state.faceOptimizer, params, grads, learningRate);
    const d = discriminator as { loss: number; accuracy: number } | null;
    return {
      loss,
      identityLoss,
      adversarialLoss: adversarialValue,
      discriminatorLoss: d?.loss ?? null,
      discriminatorAccuracy: d?.accuracy ?? null,
      confidenceLoss,
      groupConfidence: meanConfidenceByGroup(pMax!, batch.groups, groupCount),
    };
  } finally {
    disposeGradients(grads);
    statistics.dispose();
  }
}
