/**
 * One signature and one result for every attribution method (as pytorch-grad-cam offers its
 * methods), so that the Browse view, the CLI and the reports can swap GAM, pair GAM and Grad-CAM.
 * Each method is one file exporting an AttributionMethodDefinition; the registry below lists them
 * under the names of attribution-methods.ts, and the compiler checks that every name has one.
 */
import { GabnError } from '../base/errors.ts';
import { tf } from '../engine/tf.ts';
import type { AttributionModel } from '../models/attribution-model.ts';
import { ATTRIBUTION_METHODS, type AttributionMethod } from './attribution-methods.ts';
import { DEFAULT_SCALE, gamMethod, splitNormalised } from './gam.ts';
import { gradCamMethod } from './grad-cam.ts';
import { pairGamMethod } from './pair-gam.ts';

export { ATTRIBUTION_METHODS, type AttributionMethod } from './attribution-methods.ts';

/** What a method needs of a network and of its inputs. */
export interface AttributionNeeds {
  /** The identity head: always, only when no partner is given, or never. */
  readonly head: 'always' | 'without-partner' | 'never';
  /** The network cut at its last convolution stage. */
  readonly stages: boolean;
  /** A partner per image to compare with: required, used when given, or never. */
  readonly partner: 'required' | 'optional' | 'none';
}

/** What one method needs, and how it computes raw maps [N, H, W] of a batch (inside a tidy). */
export interface AttributionMethodDefinition {
  /** How messages name it: 'the GAM', 'Grad-CAM'. */
  readonly label: string;
  readonly needs: AttributionNeeds;
  compute(
    model: AttributionModel,
    x: tf.Tensor4D,
    inputs: { scale: number; partner?: tf.Tensor2D; targets?: readonly number[] },
  ): tf.Tensor3D;
}

const REGISTRY = {
  gam: gamMethod,
  'pair-gam': pairGamMethod,
  'grad-cam': gradCamMethod,
} satisfies Record<AttributionMethod, AttributionMethodDefinition>;

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

/** What a network and its inputs offer. */
export interface AttributionCapabilities {
  readonly head: boolean;
  readonly stages: boolean;
  readonly partner: boolean;
}

/** Why `method` cannot run with `offered`, or undefined when it can. */
export function missingNeed(
  method: AttributionMethod,
  offered: AttributionCapabilities,
): { message: string; expected: string } | undefined {
  const { label, needs } = REGISTRY[method];
  if (needs.partner === 'required' && !offered.partner)
    return {
      message: `${label} needs a partner for every image`,
      expected: 'partner images or partner embeddings',
    };
  if (needs.stages && !offered.stages)
    return {
      message: `${label} needs the network cut at its last convolution stage`,
      expected: 'a model that exposes its last convolution stage',
    };
  if (needs.head === 'always' && !offered.head)
    return {
      message: `${label} needs a model with an identity head`,
      expected: "a checkpoint with a head, or the method 'pair-gam'",
    };
  if (needs.head === 'without-partner' && !offered.head && !offered.partner)
    return {
      message: `${label} needs a head or a partner for every image`,
      expected: 'a checkpoint with a head, or partner images',
    };
  return undefined;
}

/** The methods that can run with `offered`, in the order the app lists them. */
export function methodsFor(offered: AttributionCapabilities): AttributionMethod[] {
  return ATTRIBUTION_METHODS.filter((m) => missingNeed(m, offered) === undefined);
}

/** Whether `method` compares each image with a partner here (needs one, or uses one for want of a head). */
export function usesPartner(method: AttributionMethod, model: AttributionModel): boolean {
  const { partner } = REGISTRY[method].needs;
  return partner === 'required' || (partner === 'optional' && model.head === undefined);
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
  const definition = checkOptions(method, model, n, options);
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
      const targets = options.targets?.slice(start, start + size);
      return definition.compute(model, x, {
        scale,
        ...(partner ? { partner } : {}),
        ...(targets ? { targets } : {}),
      });
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
): AttributionMethodDefinition {
  if (!(ATTRIBUTION_METHODS as readonly string[]).includes(method)) {
    throw new GabnError('usage', `unknown attribution method '${method}'`, {
      expected: ATTRIBUTION_METHODS.join(', '),
    });
  }
  const definition: AttributionMethodDefinition = REGISTRY[method];
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
  const problem = missingNeed(method, {
    head: model.head !== undefined,
    stages: model.stages !== undefined,
    partner: hasPartner,
  });
  if (problem !== undefined) throw new GabnError('usage', problem.message, { expected: problem.expected });
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
  return definition;
}
