/**
 * The gradient attention map (paper §3.2, Eq. 1-2): how strongly each pixel moves the network's
 * certainty about the identity.
 *
 *   P     = softmax(s·cos θ)                        (no margin; θ_j between e and the column W_j)
 *   T_GAM = Σ_n (1/C) Σ_i (P_max − P_i)             (Eq. 1, summed over the batch)
 *   GAM   = max_channels |∂T_GAM / ∂x|              (Eq. 2, one H×W map per image)
 *
 * Summing T over the batch gives every image its own gradient as long as the images do not interact
 * inside the network, which holds in eval mode (batch norm on running statistics). In training mode
 * batch norm mixes the images of a batch, and image n's map then also carries the other images'
 * terms. Display, ranking and audits use the eval-mode network; the trainer chooses the mode of the
 * GAM it differentiates.
 *
 * Everything here is built from ops the engine differentiates twice (Exp, Max and the comparisons
 * are corrected in main/engine/corrections), so GAM-CT can take the gradient of a loss on the map
 * with respect to the weights: exact double backprop.
 */

import { GabnError } from '../base/errors.ts';
import { tf } from '../engine/tf.ts';
import type { EmbeddingFn, Head } from '../models/attribution-model.ts';
import type { AttributionMethodDefinition } from './attribution.ts';

/** s of P = softmax(s·cos θ): the paper's s = 64 (§4.1). */
export const DEFAULT_SCALE = 64;

/**
 * Added to each map's maximum before dividing. A GAM's raw values scale with the network's
 * confidence: a confident network has P_i ≈ e^{−s·Δcos}, and maxima near 1e-17 are ordinary, so the
 * guard must be far below them (1e-12, F.normalize's, would flatten such maps). 1e-30 changes no map
 * whose maximum exceeds 1e-23 by more than float32 rounding, and keeps an all-zero map at zero
 * instead of 0/0.
 */
export const NORMALISE_EPSILON = 1e-30;

/** PyTorch F.normalize's floor on a norm. */
const NORM_FLOOR = 1e-12;

export interface GamOptions {
  /** s in P = softmax(s·cos θ). Default 64. */
  readonly scale?: number;
}

function l2Normalise(x: tf.Tensor, axis: number): tf.Tensor {
  return tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), axis, true)), NORM_FLOOR));
}

/** cos θ [N, C] between each embedding [N, D] and each normalised column of the head [D, C]. */
export function headCosines(embedding: tf.Tensor2D, head: Head): tf.Tensor2D {
  return tf.matMul(l2Normalise(embedding, 1), l2Normalise(head.weight, 0)) as tf.Tensor2D;
}

/**
 * Eq. 1 summed over the batch: T = Σ_n (1/C) Σ_i (P_max − P_i) with P = softmax(s·cos θ), no margin.
 *
 * Since Σ_i P_i = 1, each image's term is P_max − 1/C, and P_max = 1 / (1 + S) with
 * S = Σ_{j≠max} e^{z_j − z_max}, z = s·cos θ. That is how it is computed: the same value, but a
 * gradient that stays exact when the network is confident. Written as softmax then max, the
 * derivative at the top class is P_max(1 − P_max) formed as a difference of numbers near 1, and
 * once 1 − P_max falls below float32's resolution (6e-8; routine with s = 64, where the other
 * classes sit e^{−30} below) the map is rounding noise. Here that derivative is P_max²·S, accurate
 * to float32 precision however small S is. The top class is chosen by argmax (the first on a tie),
 * a piecewise-constant choice through which no gradient flows, as through max.
 */
export function gamObjective(embedding: tf.Tensor2D, head: Head, scale = DEFAULT_SCALE): tf.Scalar {
  return gamObjectiveOfCosines(headCosines(embedding, head), scale);
}

/** gamObjective from the cosines cos θ [N, C] (for a caller that also needs them). */
export function gamObjectiveOfCosines(cosines: tf.Tensor2D, scale = DEFAULT_SCALE): tf.Scalar {
  const z = tf.mul(cosines, scale);
  const [n, classes] = z.shape as [number, number];
  // oneHot then cast: the wasm OneHot kernel ignores a float32 dtype and writes integer bits.
  const top = tf.cast(tf.oneHot(tf.argMax(z, 1), classes), 'float32');
  const zTop = tf.sum(tf.mul(z, top), 1, true);
  // e^{z_j − z_max} ≤ 1: no overflow; the top class itself is masked out.
  const others = tf.sum(tf.mul(tf.exp(tf.sub(z, zTop)), tf.sub(1, top)), 1);
  const pMax = tf.div(1, tf.add(1, others));
  return tf.sub(tf.sum(pMax), n / classes);
}

/** Eq. 2: max over the channel axis of |∂T/∂x| for an input gradient [N, H, W, C] → [N, H, W]. */
export function channelMaxAbs(inputGradient: tf.Tensor4D): tf.Tensor3D {
  return tf.max(tf.abs(inputGradient), 3);
}

/**
 * The raw GAM [N, H, W] of normalised NHWC images `x` (Eq. 1-2). Usable inside a differentiated
 * graph: under tf.variableGrads the weights' gradient flows through ∂T/∂x (nothing here is disposed
 * or detached). Tidy intermediates as usual from the caller.
 */
export function gradientAttentionMap(
  embed: EmbeddingFn,
  head: Head,
  x: tf.Tensor4D,
  options: GamOptions = {},
): tf.Tensor3D {
  const scale = options.scale ?? DEFAULT_SCALE;
  const dTdx = tf.grad((images: tf.Tensor) => gamObjective(embed(images as tf.Tensor4D), head, scale))(
    x,
  ) as tf.Tensor4D;
  return channelMaxAbs(dTdx);
}

/**
 * gradientAttentionMap, and the cosines [N, C] of the forward pass it differentiated: a training step
 * reads each image's confidence from them instead of running the network once more. The cosines are
 * kept out of every tidy scope (the caller disposes them); both stay connected to the weights.
 */
export function gradientAttentionMapWithCosines(
  embed: EmbeddingFn,
  head: Head,
  x: tf.Tensor4D,
  options: GamOptions = {},
): { map: tf.Tensor3D; cosines: tf.Tensor2D } {
  const scale = options.scale ?? DEFAULT_SCALE;
  let cosines: tf.Tensor2D | undefined;
  const dTdx = tf.grad((images: tf.Tensor) => {
    cosines = tf.keep(headCosines(embed(images as tf.Tensor4D), head));
    return gamObjectiveOfCosines(cosines, scale);
  })(x) as tf.Tensor4D;
  return { map: channelMaxAbs(dTdx), cosines: cosines! };
}

/**
 * Each map [N, H, W] divided by its own maximum (+ NORMALISE_EPSILON): values in [0, 1], the form
 * used for display, averaging, ranking and as the discriminator's input. Differentiable (the
 * maximum's gradient reaches its pixel), so usable inside a GAM-CT graph.
 */
export function normaliseMaps(maps: tf.Tensor3D): tf.Tensor3D {
  return tf.div(maps, tf.add(tf.max(maps, [1, 2], true), NORMALISE_EPSILON));
}

/** Per-image normalised GAMs as plain arrays (eval-mode `embed` expected), with each raw maximum. */
export async function gradientAttentionMapArrays(
  embed: EmbeddingFn,
  head: Head,
  x: tf.Tensor4D,
  options: GamOptions = {},
): Promise<{ maps: Float32Array[]; rawMax: number[] }> {
  const raw = tf.tidy(() => gradientAttentionMap(embed, head, x, options));
  try {
    return splitNormalised(await raw.data(), x.shape[0], x.shape[1] * x.shape[2]);
  } finally {
    raw.dispose();
  }
}

/** Eq. 1-2 as an attribution method: the GAM of the identity decision; needs the identity head. */
export const gamMethod: AttributionMethodDefinition = {
  label: 'the GAM',
  needs: { head: 'always', stages: false, partner: 'none' },
  compute: (model, x, { scale }) => gradientAttentionMap(model.embed, model.head!, x, { scale }),
};

/** Splits downloaded maps [N·H·W] into per-image arrays, each divided by its own maximum. */
export function splitNormalised(
  values: Float32Array | Int32Array | Uint8Array,
  count: number,
  pixels: number,
): { maps: Float32Array[]; rawMax: number[] } {
  const maps: Float32Array[] = [];
  const rawMax: number[] = [];
  for (let n = 0; n < count; n++) {
    let max = 0;
    for (let i = n * pixels; i < (n + 1) * pixels; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) {
        throw new GabnError('internal', `the attention map of image ${n} holds ${v}`, {
          expected: 'finite gradients (the network or its input produced NaN or Infinity)',
        });
      }
      if (v > max) max = v;
    }
    const map = new Float32Array(pixels);
    // Exactly raw / max, as normaliseMaps up to its epsilon; an all-zero map stays zero.
    if (max > 0) for (let i = 0; i < pixels; i++) map[i] = values[n * pixels + i]! / max;
    maps.push(map);
    rawMax.push(max);
  }
  return { maps, rawMax };
}
