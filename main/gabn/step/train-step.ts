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
import { tf } from '../../engine/tf.ts';
import { activeGpuLimits, readsSynchronously } from '../../engine/webgpu.ts';
import { cosines } from '../../models/margin-head.ts';
import { applyMasks } from '../apply-masks.ts';
import { normaliseMaps } from '../gam.ts';
import { confidenceBalanceLoss, identityLoss } from '../losses.ts';
import type { TrainingConfig } from '../training-config.ts';
import { fitMicroBatch } from './device-fit.ts';
import { phasedStep, phasedStepReading } from './micro-batches.ts';
import { readAwaited, readNow, requireSynchronousReads } from './reads.ts';
import {
  checkBatch,
  faceParams,
  gradientsByName,
  meanConfidenceByGroup,
  NonFiniteStepError,
  type StepMetrics,
  saveStatistics,
  type TrainBatch,
  type TrainState,
} from './step-state.ts';
import {
  adversarialTerm,
  applyFaceUpdate,
  attentionAndCosines,
  discriminatorGradients,
  embedTrain,
  erasureRects,
  faceObjective,
  mapValues,
  readConfidence,
  updateDiscriminator,
} from './step-terms.ts';

/**
 * Algorithm 1, one step. A logical batch that fits in one part runs as one pass (`singlePassStep`);
 * with micro-batches (`microBatchSize` below the batch) the phases run apart (micro-batches.ts).
 */
export function trainStep(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
  microBatchSize: number = config.microBatchSize,
): StepMetrics {
  const n = batch.images.shape[0];
  if (microBatchSize <= 0 || microBatchSize >= n) {
    return singlePassStep(state, batch, config, learningRate, groupCount);
  }
  return phasedStep(state, batch, config, learningRate, groupCount, microBatchSize);
}

/**
 * Algorithm 1's step on the active backend. Where tensors can be read synchronously (cpu, wasm,
 * tensorflow) it is `trainStep`, value for value. On webgpu the single pass cannot run: it reads
 * P_max, the GAM's values (to place the erasure) and the discriminator's accuracy inside the face
 * network's tape, and a tape cannot await. The phased route runs instead, its reads awaited between
 * phases: the same values (tests/unit/train/single-pass.test.ts holds the two routes together), at
 * the cost of one more GAM per step (taken detached first, then again inside the face network's
 * tape). Its micro-batch is the configured one, or smaller where the GPU's buffers need it
 * (device-fit.ts).
 */
export async function trainStepAsync(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
  microBatchSize: number = config.microBatchSize,
): Promise<StepMetrics> {
  if (readsSynchronously()) return trainStep(state, batch, config, learningRate, groupCount, microBatchSize);
  const n = batch.images.shape[0];
  const limits = activeGpuLimits();
  const size = limits === null ? microBatchSize : fitMicroBatch(state, n, microBatchSize, limits);
  return readAwaited(phasedStepReading(state, batch, config, learningRate, groupCount, size));
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
  requireSynchronousReads('the single-pass step');
  checkBatch(state, batch, config.modules.gamCt);
  const { gamCt, sfre, randomErase, confidenceBalance } = config.modules;
  const [n, size] = batch.images.shape;
  let pMax: Float32Array | null = null;
  let confidenceLoss = 0;
  let identityValue = 0;
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
      ? applyMasks(batch.images, erasureRects(state, readNow(mapValues(gam)), n, size, config))
      : batch.images;
    if (gamCt) {
      // A detached copy: the discriminator's loss must not reach the face network.
      const detached = tf.tensor3d(gam!.dataSync() as Float32Array, gam!.shape);
      const d = readNow(discriminatorGradients(state, detached, batch.groups));
      updateDiscriminator(state, d.grads, config, learningRate);
      discriminator = { loss: d.loss, accuracy: d.accuracy };
    }
    // Tracked by this tape's scope from here on, so it is freed with the other intermediates.
    const cos =
      sharedCosines === null
        ? cosines(state.head, embedTrain(state, identityImages, true))
        : tf.clone(sharedCosines);
    sharedCosines?.dispose();
    // Without erasure the identity pass sees the original images: P_max comes from it.
    if (pMax === null) pMax = readConfidence(cos, batch.labels, config);
    confidenceLoss = confidenceBalance ? confidenceBalanceLoss(pMax, config.confidence.threshold) : 0;
    identityValue = identityLoss(cos, labels, config.margin).dataSync()[0]!;
    const adversarial = gamCt ? adversarialTerm(state, gam!) : null;
    if (adversarial !== null) adversarialValue = adversarial.dataSync()[0]!;
    return faceObjective(cos, labels, config, confidenceLoss, adversarial, groupCount);
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
    // The stand-in loss reached one parameter only: free whatever gradients it has.
    outcome.value.dispose();
    for (const g of Object.values(outcome.grads)) g.dispose();
    statistics.restore();
    statistics.dispose();
    throw failure;
  }
  const grads = gradientsByName(params, outcome.grads);
  const loss = outcome.value.dataSync()[0]!;
  outcome.value.dispose();
  readNow(applyFaceUpdate(state, params, loss, grads, learningRate, statistics));
  const d = discriminator as { loss: number; accuracy: number } | null;
  return {
    loss,
    identityLoss: identityValue,
    adversarialLoss: adversarialValue,
    discriminatorLoss: d?.loss ?? null,
    discriminatorAccuracy: d?.accuracy ?? null,
    confidenceLoss,
    groupConfidence: meanConfidenceByGroup(pMax!, batch.groups, groupCount),
  };
}
