/**
 * Grad-CAM (Selvaraju et al. 2017) on the last convolution stage, offered beside the GAM for
 * comparison as the paper's Fig. 2 does: it highlights the decision region at the stage's coarse
 * resolution, where the GAM is pixel-level and sparser.
 *
 *   w_k = mean_{u,v} ∂score/∂A_k(u,v)        (one weight per feature channel, per image)
 *   map = upsample(ReLU(Σ_k w_k A_k))         (bilinear to the input size, half-pixel centres)
 *
 * The score is, for a model with a head, s·cos θ_y of the predicted (or given) identity y; for a
 * pair, cos(e(x), ē) with the partner's embedding ē. Scores are summed over the batch; in eval mode
 * the images do not interact, so each image's weights are its own.
 */
import { tf } from '../engine/tf.ts';
import type { FeatureStages, Head } from '../models/attribution-model.ts';
import type { AttributionMethodDefinition } from './attribution.ts';
import { headCosines } from './gam.ts';
import { rowCosines } from './pair-gam.ts';

/** The score Grad-CAM explains, summed over the batch: embeddings [N, D] → scalar. */
export type ScoreFn = (embedding: tf.Tensor2D) => tf.Scalar;

/**
 * Σ_n s·cos θ_{y_n}: the class logit without margin of identity y_n, which is `targets[n]` when
 * given, otherwise the predicted identity (the largest cos θ; the first on a tie).
 */
export function headScore(head: Head, scale: number, targets?: readonly number[]): ScoreFn {
  return (embedding) => {
    const cos = headCosines(embedding, head);
    const classes = cos.shape[1];
    const y = targets === undefined ? tf.argMax(cos, 1) : tf.tensor1d(targets as number[], 'int32');
    // oneHot then cast: the wasm OneHot kernel ignores a float32 dtype and writes integer bits.
    return tf.mul(tf.sum(tf.mul(cos, tf.cast(tf.oneHot(y, classes), 'float32'))), scale);
  };
}

/** Σ_n cos(e(x_n), ē_n): the verification score of each image with its partner. */
export function pairScore(partnerEmbeddings: tf.Tensor2D): ScoreFn {
  return (embedding) => tf.sum(rowCosines(embedding, partnerEmbeddings));
}

/**
 * The raw Grad-CAM maps [N, H, W] of images `x` [N, H, W, C], at the input's resolution. For display
 * and comparison only: training differentiates the GAM, never this map.
 */
export function gradCam(stages: FeatureStages, x: tf.Tensor4D, score: ScoreFn): tf.Tensor3D {
  const [n, height, width] = x.shape;
  const features = stages.features(x);
  const gradient = tf.grad((a: tf.Tensor) => score(stages.embedFeatures(a as tf.Tensor4D)))(features);
  const weights = tf.mean(gradient, [1, 2], true);
  const cam = tf.relu(tf.sum(tf.mul(weights, features), 3, true)) as tf.Tensor4D;
  // Half-pixel centres: the convention of cv2.resize and PyTorch's align_corners=False, which
  // pytorch-grad-cam uses, so a map lands on the pixels its cells cover.
  const upsampled = tf.image.resizeBilinear(cam, [height, width], false, true);
  return tf.reshape(upsampled, [n, height, width]);
}

/** Grad-CAM as an attribution method: the class score with a head, the pair cosine with a partner. */
export const gradCamMethod: AttributionMethodDefinition = {
  label: 'Grad-CAM',
  needs: { head: 'without-partner', stages: true, partner: 'optional' },
  compute: (model, x, { scale, partner, targets }) =>
    gradCam(
      model.stages!,
      x,
      partner === undefined ? headScore(model.head!, scale, targets) : pairScore(partner),
    ),
};
