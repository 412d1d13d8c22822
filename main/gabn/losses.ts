/**
 * The losses of GABN (paper §3.3-3.5), one function per equation. Inputs are tensors already
 * computed by the networks: cosines cos θ [N, C] between normalised embeddings and class centres,
 * discriminator logits [N, G] on GAMs, integer identity labels and group indices.
 *
 * Every function here is differentiable twice where the paper needs it (it uses only the engine's
 * corrected ops; see main/engine/ops.ts for why tf.logSoftmax is not used).
 */

import { GabnError } from '../base/errors.ts';
import { logSoftmax, softmaxCrossEntropy } from '../engine/ops.ts';
import { tf } from '../engine/tf.ts';
import { arcfaceTarget, type MarginOptions, marginLogits } from '../models/margin-head.ts';

/**
 * Eq. 3: the GAM race classification loss of the discriminator, the standard cross entropy of its
 * logits [N, G] against each image's group index.
 */
export function discriminatorLoss(logits: tf.Tensor2D, groups: tf.Tensor1D): tf.Scalar {
  return softmaxCrossEntropy(logits, groups) as tf.Scalar;
}

/**
 * Eq. 4: the adversarial loss the face network receives, L_adv = −(1/G) Σ_g log softmax(D(GAM))_g,
 * averaged over the batch: the cross entropy against the uniform distribution over the G groups.
 * Its minimum, log G, is reached when the discriminator cannot tell the groups apart.
 */
export function adversarialLoss(logits: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(logSoftmax(logits, -1))) as tf.Scalar;
}

/** P_max per sample: the largest softmax probability of the margin logits (the "confidence"). */
export function confidence(marginLogits: tf.Tensor2D): tf.Tensor1D {
  return tf.max(tf.softmax(marginLogits, -1), 1) as tf.Tensor1D;
}

/**
 * Eq. 5: the confidence balance loss, L_conf = (n_batch − n_confidence) / n_batch, where n_confidence
 * counts the samples whose P_max is below T_conf: the fraction of samples at or above the threshold.
 * A count, so it has no gradient; it is returned as a plain number.
 */
export function confidenceBalanceLoss(pMax: Float32Array | readonly number[], threshold: number): number {
  if (pMax.length === 0) throw new GabnError('internal', 'confidence balance loss of an empty batch');
  let confident = 0;
  for (const p of pMax) if (p >= threshold) confident++;
  return confident / pMax.length;
}

/** Eq. 6: the identity loss, the margin softmax cross entropy (ArcFace by default). */
export function identityLoss(cos: tf.Tensor2D, labels: tf.Tensor1D, margin: MarginOptions): tf.Scalar {
  return softmaxCrossEntropy(marginLogits(cos, labels, margin), labels) as tf.Scalar;
}

/**
 * Keeps sin θ = √(1 − cos²θ) differentiable where |cos θ| reaches 1 (the derivative of √ at 0 is
 * infinite): 1e-7 moves θ by at most ~3e-4 rad there and nothing elsewhere.
 */
const SIN_FLOOR = 1e-7;

/**
 * Eq. 8's logits: the target column as in Eq. 6, every non-target angle shifted by K:
 * s·cos(θ_j + K) = s·(cos θ_j cos K − sin θ_j sin K). K is a scalar tensor (it may carry a gradient).
 */
export function shiftedMarginLogits(
  cos: tf.Tensor2D,
  labels: tf.Tensor1D,
  margin: MarginOptions,
  shift: tf.Scalar,
): tf.Tensor2D {
  const classes = cos.shape[1]!;
  // An int32 one-hot cast to float: tf.oneHot with a float dtype returns integer bit patterns on wasm.
  const hot = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), classes), 'float32');
  const sin = tf.sqrt(tf.maximum(tf.sub(1, tf.square(cos)), SIN_FLOOR));
  const shifted = tf.sub(tf.mul(cos, tf.cos(shift)), tf.mul(sin, tf.sin(shift)));
  const targetCos = tf.sum(tf.mul(hot, cos), 1);
  const target = margin.kind === 'arcface' ? arcfaceTarget(targetCos, margin.m) : tf.sub(targetCos, margin.m);
  const mixed = tf.add(tf.mul(shifted, tf.sub(1, hot)), tf.mul(hot, tf.expandDims(target, 1)));
  return tf.mul(mixed, margin.s) as tf.Tensor2D;
}

export type Objective = 'paper' | 'decoupled';

export interface FinalLossInputs {
  readonly cos: tf.Tensor2D;
  readonly labels: tf.Tensor1D;
  readonly margin: MarginOptions;
  /** Eq. 5, a number (no gradient). */
  readonly confidenceLoss: number;
  /** Eq. 4, a tensor that reaches the face network's weights through the GAM; null when GAM-CT is off. */
  readonly adversarial: tf.Scalar | null;
  /** The number of groups G (the decoupled objective subtracts L_adv's minimum, log G). */
  readonly groups: number;
  readonly lambdaConfidence: number;
  readonly lambdaAdversarial: number;
  readonly objective: Objective;
}

/**
 * Eq. 7-8, under one of two objectives (docs/objectives.md explains why both exist):
 * - `paper`: K = L_conf + L_adv and L_final = the margin softmax whose non-target angles are shifted
 *   by K, exactly as printed; the gradient flows through K. Since ∂L_final/∂K < 0 (a larger shift
 *   lowers the non-target logits while θ_j + K < π), descending this loss raises L_adv.
 * - `decoupled`: the non-target shift is λ_conf·L_conf (a constant), and GAM-CT's aim is added
 *   directly: L = margin softmax + λ_adv·(L_adv − log G).
 */
export function finalLoss(inputs: FinalLossInputs): tf.Scalar {
  const { cos, labels, margin, confidenceLoss, adversarial, groups } = inputs;
  const paperShift = (): tf.Scalar => {
    const k = tf.scalar(inputs.lambdaConfidence * confidenceLoss);
    return adversarial === null ? k : (tf.add(k, tf.mul(adversarial, inputs.lambdaAdversarial)) as tf.Scalar);
  };
  if (inputs.adversarial !== null && groups < 2) {
    throw new GabnError('config', `the adversarial loss needs at least 2 groups, got ${groups}`);
  }
  if (inputs.objective === 'paper') {
    return softmaxCrossEntropy(shiftedMarginLogits(cos, labels, margin, paperShift()), labels) as tf.Scalar;
  }
  const shift = tf.scalar(inputs.lambdaConfidence * confidenceLoss);
  const identity = softmaxCrossEntropy(shiftedMarginLogits(cos, labels, margin, shift), labels);
  if (adversarial === null) return identity as tf.Scalar;
  return tf.add(
    identity,
    tf.mul(tf.sub(adversarial, Math.log(groups)), inputs.lambdaAdversarial),
  ) as tf.Scalar;
}
