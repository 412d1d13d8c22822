/**
 * What a network offers to the attribution methods (GAM, pair GAM, Grad-CAM): small function types,
 * not a network class, so any network plugs in — the iResNet, an imported embedder, a hand-made
 * test network.
 */
import type { tf } from '../engine/tf.ts';

/** Normalised NHWC images [N, H, W, 3] → embeddings [N, embeddingSize]. */
export type EmbeddingFn = (x: tf.Tensor4D) => tf.Tensor2D;

/** A classification head whose normalised columns are the class centres. */
export interface Head {
  /** [embeddingSize, classes]. */
  readonly weight: tf.Tensor2D;
}

/**
 * The network cut after its last convolution stage, for Grad-CAM: `features` gives the stage's
 * activations A [N, h, w, K], `embedFeatures` the embedding from them. A gradient can be taken only
 * with respect to a tensor that exists before the differentiated function runs, so Grad-CAM needs
 * the two halves, not one function that returns both.
 */
export interface FeatureStages {
  readonly features: (x: tf.Tensor4D) => tf.Tensor4D;
  readonly embedFeatures: (features: tf.Tensor4D) => tf.Tensor2D;
}

export interface AttributionModel {
  /** The whole network, images → embeddings (eval mode for display and audits). */
  readonly embed: EmbeddingFn;
  /** The identity head, when the checkpoint has one ('gam', and Grad-CAM on a class score). */
  readonly head?: Head;
  /** The network cut at its last convolution stage ('grad-cam'). */
  readonly stages?: FeatureStages;
}
