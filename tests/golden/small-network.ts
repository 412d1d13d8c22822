/**
 * The small network of tests/golden/second_order.py rebuilt with tfjs ops, and the GAM-CT chain on
 * top of it: T (Eq. 1), GAM = max_channels |∂T/∂x| (Eq. 2), the per-image normalisation, a linear
 * discriminator and L_adv (Eq. 4). Tensors are NHWC, kernels HWIO; batch norms use batch statistics.
 * The golden tests, corrected and uncorrected, share this one implementation.
 */
import { tf } from '../../main/engine/tf.ts';
import { channelMaxAbs, gamObjective, normaliseMaps } from '../../main/gabn/gam.ts';
import { adversarialLoss } from '../../main/gabn/losses.ts';

/** Training-mode batch norm as a written-out formula on tf.moments, or through tf.batchNorm's kernel. */
export type BatchNormVariant = 'formula' | 'fused';

/**
 * How T, the GAM, its normalisation and L_adv are formed: 'ops' writes them here from tf ops (softmax
 * then max, as Eq. 1 reads); 'gabn' uses the project's main/gabn/gam.ts and losses.ts (T through
 * P_max = 1/(1 + Σ e^{z_j − z_max}), the same value), so the fixture checks that code too.
 */
export type ChainVariant = 'ops' | 'gabn';

export interface SmallNetworkConfig {
  readonly s: number;
  readonly bnEpsilon: number;
  readonly normaliseEpsilon: number;
}

export type Params = Record<string, tf.Tensor>;

function batchNorm(x: tf.Tensor, p: Params, name: string, eps: number, variant: BatchNormVariant): tf.Tensor {
  const gamma = p[`${name}.weight`]!;
  const beta = p[`${name}.bias`]!;
  const { mean, variance } = tf.moments(x, x.rank === 4 ? [0, 1, 2] : [0]);
  if (variant === 'fused')
    return tf.batchNorm(x, mean, variance, beta as tf.Tensor1D, gamma as tf.Tensor1D, eps);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

function l2Normalise(x: tf.Tensor, axis: number): tf.Tensor {
  return tf.div(x, tf.sqrt(tf.sum(tf.square(x), axis, true)));
}

/** conv → BN → PReLU twice with a residual add, a stride-2 conv → BN → PReLU, fc, BN1d. */
export function embed(
  p: Params,
  x: tf.Tensor,
  c: SmallNetworkConfig,
  variant: BatchNormVariant,
): tf.Tensor2D {
  const block = (h: tf.Tensor, i: number, stride: number) => {
    // Explicit pad 1 (PyTorch's padding=1): for stride 2 on an even size 'same' would pad bottom/right only.
    const conv = tf.conv2d(
      h as tf.Tensor4D,
      p[`conv${i}.weight`] as tf.Tensor4D,
      stride,
      stride === 1 ? 'same' : 1,
    );
    return tf.prelu(batchNorm(conv, p, `bn${i}`, c.bnEpsilon, variant), p[`prelu${i}.weight`]!);
  };
  const a1 = block(x, 1, 1);
  const a2 = tf.add(block(a1, 2, 1), a1);
  const a3 = block(a2, 3, 2);
  const flat = tf.reshape(a3, [a3.shape[0]!, -1]);
  const features = tf.matMul(flat as tf.Tensor2D, p['fc.weight'] as tf.Tensor2D);
  return batchNorm(features, p, 'features', c.bnEpsilon, variant) as tf.Tensor2D;
}

/** cos θ between the normalised embeddings and the normalised columns of the head. */
export function cosines(p: Params, embedding: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(
    l2Normalise(embedding, 1) as tf.Tensor2D,
    l2Normalise(p['head.weight']!, 0) as tf.Tensor2D,
  );
}

/** Eq. 1 summed over the batch, P = softmax(s·cos θ): T = Σ_n (1/C) Σ_i (P_max − P_i). */
export function objectiveT(cos: tf.Tensor2D, s: number): tf.Scalar {
  const prob = tf.softmax(tf.mul(cos, s));
  return tf.sum(tf.mean(tf.sub(tf.max(prob, 1, true), prob), 1));
}

export function forwardT(
  p: Params,
  x: tf.Tensor,
  c: SmallNetworkConfig,
  variant: BatchNormVariant,
): tf.Scalar {
  return objectiveT(cosines(p, embed(p, x, c, variant)), c.s);
}

export interface GamChain {
  readonly T: tf.Scalar;
  readonly dTdx: tf.Tensor4D;
  readonly gam: tf.Tensor3D;
  readonly gamNormalised: tf.Tensor3D;
  readonly logits: tf.Tensor2D;
  readonly lAdv: tf.Scalar;
}

/**
 * x → T → ∂T/∂x → GAM → GAM / (max + ε) → logits → L_adv, differentiable with respect to every
 * tensor in `p` (and x) when called inside tf.variableGrads: the weights reach L_adv only through ∂T/∂x.
 */
export function gamChain(
  p: Params,
  x: tf.Tensor,
  c: SmallNetworkConfig,
  variant: BatchNormVariant,
  chain: ChainVariant = 'ops',
): GamChain {
  if (chain === 'gabn') return gabnChain(p, x, c, variant);
  const { value: T, grad } = tf.valueAndGrad((images: tf.Tensor) => forwardT(p, images, c, variant))(x);
  const dTdx = grad as tf.Tensor4D;
  const gam = tf.max(tf.abs(dTdx), 3) as tf.Tensor3D;
  const gamNormalised = tf.div(gam, tf.add(tf.max(gam, [1, 2], true), c.normaliseEpsilon)) as tf.Tensor3D;
  const flat = tf.reshape(gamNormalised, [gam.shape[0], -1]) as tf.Tensor2D;
  const logits = tf.add(tf.matMul(flat, p['disc.weight'] as tf.Tensor2D), p['disc.bias']!) as tf.Tensor2D;
  // log softmax as logits − logsumexp; L_adv = −(1/N) Σ_n (1/G) Σ_g log softmax(z_n)_g.
  const lAdv = tf.neg(tf.mean(tf.sub(logits, tf.logSumExp(logits, 1, true)))) as tf.Scalar;
  return { T, dTdx, gam, gamNormalised, logits, lAdv };
}

/** The same chain through the project's GAM and loss functions. */
function gabnChain(p: Params, x: tf.Tensor, c: SmallNetworkConfig, variant: BatchNormVariant): GamChain {
  const head = { weight: p['head.weight'] as tf.Tensor2D };
  const { value: T, grad } = tf.valueAndGrad((images: tf.Tensor) =>
    gamObjective(embed(p, images, c, variant), head, c.s),
  )(x);
  const dTdx = grad as tf.Tensor4D;
  const gam = channelMaxAbs(dTdx);
  const gamNormalised = normaliseMaps(gam);
  const flat = tf.reshape(gamNormalised, [gam.shape[0], -1]) as tf.Tensor2D;
  const logits = tf.add(tf.matMul(flat, p['disc.weight'] as tf.Tensor2D), p['disc.bias']!) as tf.Tensor2D;
  return { T, dTdx, gam, gamNormalised, logits, lAdv: adversarialLoss(logits) };
}
