/**
 * The pair GAM, for models without an identity head (imported embedders): the GAM of Eq. 2 with the
 * objective of Eq. 1 replaced by the cosine similarity of each image to its partner,
 *
 *   T   = Σ_n cos(e(x_n), ē_n)          (ē_n: the partner's embedding, held constant)
 *   GAM = max_channels |∂T / ∂x|
 *
 * which marks the pixels that most move the verification score of the pair. As with the GAM,
 * images do not interact in eval mode, so each map is that image's own gradient.
 */

import { GabnError } from '../base/errors.ts';
import { tf } from '../engine/tf.ts';
import type { EmbeddingFn } from '../models/attribution-model.ts';
import type { AttributionMethodDefinition } from './attribution.ts';
import { channelMaxAbs } from './gam.ts';

/** PyTorch F.cosine_similarity's floor on each norm. */
const COSINE_NORM_FLOOR = 1e-8;

/**
 * The identity with a zero gradient: the partner's embedding is a constant of the pair objective,
 * so no gradient reaches the weights through it when the GAM is differentiated (GAM-CT). tfjs has
 * no stop-gradient op; a custom gradient of zeros is one.
 */
export const heldConstant = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (value: tf.Tensor2D) => tf.Tensor2D;

/** cos(a_n, b_n) per row of two [N, D] tensors, each norm floored at 1e-8 as PyTorch does. */
export function rowCosines(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  const norms = tf.mul(
    tf.maximum(tf.sqrt(tf.sum(tf.square(a), 1)), COSINE_NORM_FLOOR),
    tf.maximum(tf.sqrt(tf.sum(tf.square(b), 1)), COSINE_NORM_FLOOR),
  );
  return tf.div(tf.sum(tf.mul(a, b), 1), norms) as tf.Tensor1D;
}

/** The pair objective T = Σ_n cos(e(x_n), ē_n), the partner embeddings held constant. */
export function pairObjective(embedding: tf.Tensor2D, partnerEmbeddings: tf.Tensor2D): tf.Scalar {
  return tf.sum(rowCosines(embedding, heldConstant(partnerEmbeddings)));
}

/**
 * The raw pair GAM [N, H, W] of `x` against `partnerEmbeddings` [N, D]. Like gradientAttentionMap,
 * usable inside a differentiated graph.
 */
export function pairGradientAttentionMap(
  embed: EmbeddingFn,
  x: tf.Tensor4D,
  partnerEmbeddings: tf.Tensor2D,
): tf.Tensor3D {
  if (partnerEmbeddings.shape[0] !== x.shape[0]) {
    throw new GabnError(
      'usage',
      `${partnerEmbeddings.shape[0]} partner embeddings for ${x.shape[0]} images`,
      {
        expected: 'one partner per image',
      },
    );
  }
  const dTdx = tf.grad((images: tf.Tensor) => pairObjective(embed(images as tf.Tensor4D), partnerEmbeddings))(
    x,
  ) as tf.Tensor4D;
  return channelMaxAbs(dTdx);
}

/** The pair GAM as an attribution method: each image against its partner's embedding. */
export const pairGamMethod: AttributionMethodDefinition = {
  label: 'the pair GAM',
  needs: { head: 'never', stages: false, partner: 'required' },
  compute: (model, x, { partner }) => pairGradientAttentionMap(model.embed, x, partner!),
};
