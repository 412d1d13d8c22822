/**
 * The margin softmax head (Eq. 6 of the paper; ArcFace, Deng et al. 2019): a weight W
 * [embeddingSize, classes] whose normalised columns are the class centres; cos θ_j is the cosine
 * between the normalised embedding and W_j.
 *
 * ArcFace reproduces insightface arcface_torch `losses.py` (CombinedMarginLoss / ArcFace with
 * easy_margin = False) exactly: the target logit is s·cos(θ_y + m) computed as
 * cos θ·cos m − sin θ·sin m; where θ_y + m would pass π (cos θ_y ≤ cos(π − m)) the monotone
 * fallback s·(cos θ_y − sin(π − m)·m) is used instead. CosFace: s·(cos θ_y − m). Rows whose label is
 * −1 get no margin (insightface's convention for samples whose class is not in this head).
 */
import { tf } from '../engine/tf.ts';
import { createParams, type ParamMap, type TensorLayout } from './parameters.ts';

export interface MarginHead {
  readonly embeddingSize: number;
  readonly classes: number;
  /** `weight`: [embeddingSize, classes]. */
  readonly params: ParamMap;
}

export type MarginKind = 'arcface' | 'cosface';

export interface MarginOptions {
  readonly kind: MarginKind;
  /** Scale s. */
  readonly s: number;
  /** Margin m: an angle in radians for ArcFace, a cosine offset for CosFace. */
  readonly m: number;
}

/** The paper's setting: ArcFace with s = 64 and m = 0.35. */
export const PAPER_MARGIN: MarginOptions = { kind: 'arcface', s: 64, m: 0.35 };

/** PyTorch F.normalize's guard against division by a zero norm. */
const NORM_EPSILON = 1e-12;

export function marginHeadLayout(embeddingSize: number, classes: number): TensorLayout[] {
  // insightface's partial FC draws the class centres from N(0, 0.01²).
  return [
    {
      name: 'weight',
      shape: [embeddingSize, classes],
      init: { kind: 'normal', std: 0.01 },
      trainable: true,
      buffer: false,
    },
  ];
}

export function createMarginHead(embeddingSize: number, classes: number, seed: number): MarginHead {
  return { embeddingSize, classes, params: createParams(marginHeadLayout(embeddingSize, classes), seed) };
}

/** x / max(‖x‖, 1e-12) along `axis`, as F.normalize. */
export function l2Normalise(x: tf.Tensor, axis: number): tf.Tensor {
  const norm = tf.sqrt(tf.sum(tf.square(x), axis, true));
  return tf.div(x, tf.maximum(norm, NORM_EPSILON));
}

/** cos θ [N, classes] between each embedding [N, embeddingSize] and each class centre. */
export function cosines(head: MarginHead, embedding: tf.Tensor2D): tf.Tensor2D {
  const e = l2Normalise(embedding, 1) as tf.Tensor2D;
  const w = l2Normalise(head.params.weight!, 0) as tf.Tensor2D;
  return tf.matMul(e, w);
}

/** s·cos θ with no margin: the logits of P = softmax(s·cos θ) in the GAM (Eq. 1). */
export function scaledLogits(cos: tf.Tensor2D, s: number): tf.Tensor2D {
  return tf.mul(cos, s);
}

/**
 * Margin logits [N, classes] for integer labels (length N, −1 = no margin on that row).
 *
 * Only the target column changes, and it is gathered before the margin is computed, so the
 * square root never sees the non-target cosines (a cosine of exactly ±1 there would otherwise put
 * 0·∞ = NaN into the gradient). sin θ = √max(0, 1 − cos²θ) guards rounding just above 1.
 */
export function marginLogits(
  cos: tf.Tensor2D,
  labels: tf.Tensor1D | readonly number[],
  options: MarginOptions,
): tf.Tensor2D {
  return tf.tidy(() => {
    const classes = cos.shape[1]!;
    const labelTensor = Array.isArray(labels)
      ? tf.tensor1d(labels as number[], 'int32')
      : tf.cast(labels as tf.Tensor1D, 'int32');
    // oneHot of −1 is an all-zero row: that row keeps its plain cosines. (The wasm OneHot kernel
    // writes integer bits into a float32 output, so build it as int32 and cast.)
    const hot = tf.cast(tf.oneHot(labelTensor, classes), 'float32');
    const target = tf.sum(tf.mul(hot, cos), 1);
    const marginTarget =
      options.kind === 'arcface' ? arcfaceTarget(target, options.m) : tf.sub(target, options.m);
    // cos·(1 − hot) + hot·target': exact in float32 (a product with 0 or 1 and a sum with 0).
    const mixed = tf.add(tf.mul(cos, tf.sub(1, hot)), tf.mul(hot, tf.expandDims(marginTarget, 1)));
    return tf.mul(mixed, options.s) as tf.Tensor2D;
  });
}

/** cos(θ + m) for cos θ > cos(π − m), otherwise cos θ − sin(π − m)·m (insightface, easy_margin False). */
export function arcfaceTarget(cosTarget: tf.Tensor, m: number): tf.Tensor {
  const cosM = Math.cos(m);
  const sinM = Math.sin(m);
  const threshold = Math.cos(Math.PI - m);
  const mm = Math.sin(Math.PI - m) * m;
  const sinTheta = tf.sqrt(tf.maximum(tf.sub(1, tf.square(cosTarget)), 0));
  const cosThetaM = tf.sub(tf.mul(cosTarget, cosM), tf.mul(sinTheta, sinM));
  return tf.where(tf.greater(cosTarget, threshold), cosThetaM, tf.sub(cosTarget, mm));
}
