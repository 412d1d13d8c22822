/**
 * One signature and one result for every attribution method (as pytorch-grad-cam offers its
 * methods), so that the Browse view, the CLI and the reports can swap GAM, pair GAM and Grad-CAM.
 *
 * The methods are written against small function types, not against a network class: any network
 * (the iResNet, an imported embedder, a hand-made test network) plugs in.
 */
import { tf } from '../engine/tf.ts';
import { GabnError } from '../errors.ts';
import { DEFAULT_SCALE, gradientAttentionMap, splitNormalised } from './gam.ts';
import { gradCam, headScore, pairScore } from './grad-cam.ts';
import { pairGradientAttentionMap } from './pair-gam.ts';

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

/** What a network offers to the attribution methods. */
export interface AttributionModel {
  /** The whole network, images → embeddings (eval mode for display and audits). */
  readonly embed: EmbeddingFn;
  /** The identity head, when the checkpoint has one ('gam', and Grad-CAM on a class score). */
  readonly head?: Head;
  /** The network cut at its last convolution stage ('grad-cam'). */
  readonly stages?: FeatureStages;
}

export type AttributionMethod = 'gam' | 'pair-gam' | 'grad-cam';

export const ATTRIBUTION_METHODS: readonly AttributionMethod[] = ['gam', 'pair-gam', 'grad-cam'];

export interface AttributionOptions {
  /** s in P = softmax(s·cos θ) (GAM) and in the class score s·cos θ_y (Grad-CAM). Default 64. */
  readonly scale?: number;
  /**
   * Pair methods: the partner of each image, as images [N, H, W, 3] (embedded here) or as
   * embeddings [N, embeddingSize]. 'pair-gam' needs one; 'grad-cam' scores the pair cosine when
   * one is given, otherwise the class score.
   */
  readonly partners?: tf.Tensor4D;
  readonly partnerEmbeddings?: tf.Tensor2D;
  /** Grad-CAM with a head: the identity to explain per image; default the predicted one. */
  readonly targets?: readonly number[];
  /**
   * Images per pass (default all at once). Splitting changes nothing in eval mode, where images do
   * not interact, and bounds memory (the wasm heap stops at 4 GiB).
   */
  readonly batchSize?: number;
}

/** Maps of one batch, each divided by its own maximum. */
export interface AttributionResult {
  readonly method: AttributionMethod;
  /** One map per image, row-major, height·width values in [0, 1]. */
  readonly maps: Float32Array[];
  /** Each map's maximum before normalisation (0 when the map is all zero). */
  readonly rawMax: number[];
  readonly width: number;
  readonly height: number;
}

/**
 * Computes `method`'s maps for `images` [N, H, W, C] (normalised, NHWC). Every map is divided by
 * its own maximum; an all-zero map stays zero. Tensors created here are disposed; the inputs are
 * not.
 */
export async function computeAttribution(
  method: AttributionMethod,
  model: AttributionModel,
  images: tf.Tensor4D,
  options: AttributionOptions = {},
): Promise<AttributionResult> {
  const [n, height, width] = images.shape;
  const scale = options.scale ?? DEFAULT_SCALE;
  if (!(Number.isFinite(scale) && scale > 0)) {
    throw new GabnError('usage', `invalid attribution scale ${scale}`, { expected: 'a positive number' });
  }
  checkOptions(method, model, n, options);
  const step = options.batchSize ?? Math.max(n, 1);
  if (!(Number.isInteger(step) && step >= 1)) {
    throw new GabnError('usage', `invalid attribution batch size ${step}`, {
      expected: 'a positive integer',
    });
  }
  const maps: Float32Array[] = [];
  const rawMax: number[] = [];
  for (let start = 0; start < n; start += step) {
    const size = Math.min(step, n - start);
    const raw = tf.tidy(() => {
      const x = tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]);
      const partner = partnerEmbeddingsOf(model, options, start, size);
      if (method === 'gam') return gradientAttentionMap(model.embed, model.head!, x, { scale });
      if (method === 'pair-gam') return pairGradientAttentionMap(model.embed, x, partner!);
      const score =
        partner === undefined
          ? headScore(model.head!, scale, options.targets?.slice(start, start + size))
          : pairScore(partner);
      return gradCam(model.stages!, x, score);
    });
    try {
      const part = splitNormalised(await raw.data(), size, height * width);
      maps.push(...part.maps);
      rawMax.push(...part.rawMax);
    } finally {
      raw.dispose();
    }
  }
  return { method, maps, rawMax, width, height };
}

function partnerEmbeddingsOf(
  model: AttributionModel,
  options: AttributionOptions,
  start: number,
  size: number,
): tf.Tensor2D | undefined {
  if (options.partnerEmbeddings !== undefined) {
    return tf.slice(options.partnerEmbeddings, [start, 0], [size, -1]);
  }
  if (options.partners !== undefined) {
    return model.embed(tf.slice(options.partners, [start, 0, 0, 0], [size, -1, -1, -1]));
  }
  return undefined;
}

function checkOptions(
  method: AttributionMethod,
  model: AttributionModel,
  n: number,
  options: AttributionOptions,
): void {
  if (!ATTRIBUTION_METHODS.includes(method)) {
    throw new GabnError('usage', `unknown attribution method '${method}'`, {
      expected: ATTRIBUTION_METHODS.join(', '),
    });
  }
  const hasPartner = options.partners !== undefined || options.partnerEmbeddings !== undefined;
  if (options.partners !== undefined && options.partnerEmbeddings !== undefined) {
    throw new GabnError('usage', 'give partner images or partner embeddings, not both');
  }
  const partnerCount = options.partners?.shape[0] ?? options.partnerEmbeddings?.shape[0];
  if (partnerCount !== undefined && partnerCount !== n) {
    throw new GabnError('usage', `${partnerCount} partners for ${n} images`, {
      expected: 'one partner per image',
    });
  }
  if (method === 'gam' && model.head === undefined) {
    throw new GabnError('usage', 'the GAM needs a model with an identity head', {
      expected: "a checkpoint with a head, or the method 'pair-gam'",
    });
  }
  if (method === 'pair-gam' && !hasPartner) {
    throw new GabnError('usage', 'the pair GAM needs a partner for every image', {
      expected: 'partner images or partner embeddings',
    });
  }
  if (method === 'grad-cam') {
    if (model.stages === undefined) {
      throw new GabnError('usage', 'Grad-CAM needs the network cut at its last convolution stage', {
        expected: 'a model that exposes its last convolution stage',
      });
    }
    if (!hasPartner && model.head === undefined) {
      throw new GabnError('usage', 'Grad-CAM needs a head or a partner for every image', {
        expected: 'a checkpoint with a head, or partner images',
      });
    }
  }
  if (options.targets !== undefined) {
    const classes = model.head?.weight.shape[1];
    if (options.targets.length !== n) {
      throw new GabnError('usage', `${options.targets.length} target identities for ${n} images`, {
        expected: 'one target identity per image',
      });
    }
    const bad = options.targets.find((t) => !(Number.isInteger(t) && t >= 0 && t < (classes ?? 0)));
    if (bad !== undefined) {
      throw new GabnError('usage', `target identity ${bad} is not a class of the head`, {
        expected: `an integer in [0, ${(classes ?? 0) - 1}]`,
      });
    }
  }
}
