/**
 * Algorithm 1's step as separate phases, each over one batch: prepare (confidence, GAM, erasure),
 * the discriminator's update, the face network's update. The micro-batched step runs each phase
 * over every part before the next; tests drive the phases one by one.
 */
import { tf } from '../../engine/tf.ts';
import { cosines } from '../../models/margin-head.ts';
import { applyMasks } from '../apply-masks.ts';
import { normaliseMaps } from '../gam.ts';
import { confidenceBalanceLoss, identityLoss } from '../losses.ts';
import type { Rect } from '../masks.ts';
import type { TrainingConfig } from '../training-config.ts';
import {
  faceParams,
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
  discriminatorGradients,
  embedTrain,
  erasureRects,
  faceObjective,
  readConfidence,
  updateDiscriminator,
} from './step-terms.ts';

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
  let pMax: Float32Array;
  try {
    pMax = readConfidence(cos, batch.labels, config);
  } catch (error) {
    gam?.dispose();
    throw error;
  } finally {
    cos.dispose();
  }
  const confidenceLoss = config.modules.confidenceBalance
    ? confidenceBalanceLoss(pMax, config.confidence.threshold)
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
    groupConfidence: meanConfidenceByGroup(pMax, batch.groups, groupCount),
    pMax,
  };
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

/** Eq. 8's value and gradients for the face network and head (the batch-norm estimates move). */
export function faceGradients(
  state: TrainState,
  batch: TrainBatch,
  context: StepContext,
  config: TrainingConfig,
  groupCount: number,
) {
  let identity = 0;
  let adversarial: number | null = null;
  const params = faceParams(state);
  const { value, grads } = tf.variableGrads(() => {
    const parts = faceLoss(state, batch, context, config, groupCount, true);
    identity = parts.identity.dataSync()[0]!;
    adversarial = parts.adversarial === null ? null : parts.adversarial.dataSync()[0]!;
    return parts.loss;
  }, Object.values(params));
  const loss = value.dataSync()[0]!;
  value.dispose();
  return {
    loss,
    identityLoss: identity,
    adversarialLoss: adversarial as number | null,
    grads: gradientsByName(params, grads),
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
  applyFaceUpdate(state, faceParams(state), loss, grads, learningRate, statistics);
  return { loss, identityLoss, adversarialLoss };
}
