/**
 * Algorithm 1's step as separate phases, each over one batch: prepare (confidence, GAM, erasure),
 * the discriminator's update, the face network's update. The micro-batched step runs each phase
 * over every part before the next; tests drive the phases one by one. The phases read their values
 * between tapes, never inside one, so they run alike on every backend (reads.ts): the exported
 * functions read synchronously, their *Reading generators serve webgpu.
 */
import { tf } from '../../engine/tf.ts';
import { cosines } from '../../models/margin-head.ts';
import { applyMasks } from '../apply-masks.ts';
import { normaliseMaps } from '../gam.ts';
import { confidenceBalanceLoss, identityLoss } from '../losses.ts';
import type { Rect } from '../masks.ts';
import type { TrainingConfig } from '../training-config.ts';
import { type Reading, readNow, readScalars } from './reads.ts';
import {
  disposeGradients,
  faceParams,
  type Gradients,
  gradientsByName,
  meanConfidenceByGroup,
  type StepContext,
  saveStatistics,
  type TrainBatch,
  type TrainState,
} from './step-state.ts';
import {
  adversarialTerm,
  applyFaceUpdate,
  attentionAndCosines,
  confidenceReading,
  discriminatorGradients,
  embedTrain,
  erasureRects,
  faceObjective,
  mapValues,
  updateDiscriminator,
} from './step-terms.ts';

/** What the prepare phase hands the discriminator's and the face network's phases. */
export interface Prepared {
  readonly context: StepContext;
  /** The normalised GAMs, detached (null without GAM-CT and GAM-SFRE). */
  readonly gam: tf.Tensor3D | null;
  readonly groupConfidence: number[];
  readonly pMax: Float32Array;
}

/** Steps 1-3: confidence, GAM (detached) and erasure. */
export function* prepareStepReading(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  groupCount: number,
): Reading<Prepared> {
  const needsGam = config.modules.gamCt || config.modules.sfre;
  // One pass gives both: the GAM's forward pass holds the cosines P_max is read from.
  const attention = needsGam ? tf.tidy(() => attentionAndCosines(state, batch.images, config)) : null;
  const gam = attention === null ? null : tf.tidy(() => normaliseMaps(attention.map));
  attention?.map.dispose();
  const cos = attention?.cosines ?? tf.tidy(() => cosines(state.head, embedTrain(state, batch.images)));
  let pMax: Float32Array;
  let rects: Rect[][] | null = null;
  let identityImages = batch.images;
  const [n, size] = batch.images.shape;
  try {
    try {
      pMax = yield* confidenceReading(cos, batch.labels, config);
    } finally {
      cos.dispose();
    }
    if (config.modules.sfre || config.modules.randomErase) {
      rects = erasureRects(state, yield* mapValues(gam), n, size, config);
      identityImages = applyMasks(batch.images, rects);
    }
  } catch (error) {
    gam?.dispose();
    throw error;
  }
  const confidenceLoss = config.modules.confidenceBalance
    ? confidenceBalanceLoss(pMax, config.confidence.threshold)
    : 0;
  return {
    context: { identityImages, confidenceLoss, rects } satisfies StepContext,
    gam,
    groupConfidence: meanConfidenceByGroup(pMax, batch.groups, groupCount),
    pMax,
  };
}

/** Steps 1-3 on a backend that reads synchronously. */
export function prepareStep(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  groupCount: number,
): Prepared {
  return readNow(prepareStepReading(state, batch, config, groupCount));
}

/** Step 4: the discriminator on detached GAMs (Eq. 3). Returns its loss and accuracy before the update. */
export function discriminatorStep(
  state: TrainState,
  gam: tf.Tensor3D,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
) {
  const { loss, accuracy, grads } = readNow(discriminatorGradients(state, gam, batch.groups));
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
  const labels = tf.tensor1d(batch.labels, 'int32');
  const cos = cosines(state.head, embedTrain(state, context.identityImages, updateStats));
  let adversarial: tf.Scalar | null = null;
  if (config.modules.gamCt) {
    const attention = attentionAndCosines(state, batch.images, config);
    attention.cosines.dispose();
    adversarial = adversarialTerm(state, normaliseMaps(attention.map));
  }
  return {
    loss: faceObjective(cos, labels, config, context.confidenceLoss, adversarial, groupCount),
    identity: identityLoss(cos, labels, config.margin),
    adversarial,
  };
}

export interface FaceGradients {
  readonly loss: number;
  readonly identityLoss: number;
  readonly adversarialLoss: number | null;
  readonly grads: Gradients;
}

/**
 * Eq. 8's value and gradients for the face network and head (the batch-norm estimates move). The
 * identity loss and L_adv are kept out of the tape and read after it, with the loss, in one read.
 */
export function* faceGradientsReading(
  state: TrainState,
  batch: TrainBatch,
  context: StepContext,
  config: TrainingConfig,
  groupCount: number,
): Reading<FaceGradients> {
  let identity: tf.Scalar | null = null;
  let adversarial: tf.Scalar | null = null;
  const params = faceParams(state);
  const { value, grads } = tf.variableGrads(() => {
    const parts = faceLoss(state, batch, context, config, groupCount, true);
    identity = tf.keep(parts.identity);
    adversarial = parts.adversarial === null ? null : tf.keep(parts.adversarial);
    return parts.loss;
  }, Object.values(params));
  const named = gradientsByName(params, grads);
  try {
    const [loss, identityLoss, adversarialLoss] = yield* readScalars(value, identity, adversarial);
    return { loss: loss!, identityLoss: identityLoss!, adversarialLoss: adversarialLoss!, grads: named };
  } catch (error) {
    disposeGradients(named);
    throw error;
  }
}

/** faceGradientsReading on a backend that reads synchronously. */
export function faceGradients(
  state: TrainState,
  batch: TrainBatch,
  context: StepContext,
  config: TrainingConfig,
  groupCount: number,
): FaceGradients {
  return readNow(faceGradientsReading(state, batch, context, config, groupCount));
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
  readNow(applyFaceUpdate(state, faceParams(state), loss, grads, learningRate, statistics));
  return { loss, identityLoss, adversarialLoss };
}
