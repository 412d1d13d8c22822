/**
 * Small networks and float64 hand computations shared by the GAM tests. Values come from a
 * deterministic sequence (no Math.random in tests).
 */
import { tf } from '../../../main/engine/tf.ts';
import type { EmbeddingFn, FeatureStages, Head } from '../../../main/models/attribution-model.ts';
import { sequence } from '../engine/second-order-cases.ts';

export { sequence };

export interface LinearNet {
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly dim: number;
  readonly classes: number;
  /** Images, NHWC flattened. */
  readonly x: number[];
  /** A [H·W·C, D], row-major: e = flatten(x)·A. */
  readonly a: number[];
  /** W [D, C], row-major. */
  readonly w: number[];
}

export function linearNet(
  seed: number,
  n = 2,
  height = 4,
  width = 5,
  channels = 3,
  dim = 6,
  classes = 7,
): LinearNet {
  const pixels = height * width * channels;
  return {
    n,
    height,
    width,
    channels,
    dim,
    classes,
    x: sequence(n * pixels, seed, 1),
    a: sequence(pixels * dim, seed + 1, 0.5),
    w: sequence(dim * classes, seed + 2, 1),
  };
}

/** The tfjs embedding and head of a LinearNet. */
export function linearModel(net: LinearNet): { embed: EmbeddingFn; head: Head; images: tf.Tensor4D } {
  const pixels = net.height * net.width * net.channels;
  const a = tf.tensor2d(net.a, [pixels, net.dim]);
  return {
    embed: (x) => tf.matMul(tf.reshape(x, [x.shape[0], pixels]), a),
    head: { weight: tf.tensor2d(net.w, [net.dim, net.classes]) },
    images: tf.tensor4d(net.x, [net.n, net.height, net.width, net.channels]),
  };
}

/** e = flatten(x_n)·A in float64. */
export function embedding64(net: LinearNet, image: number): number[] {
  const pixels = net.height * net.width * net.channels;
  const e = new Array<number>(net.dim).fill(0);
  for (let p = 0; p < pixels; p++) {
    const v = net.x[image * pixels + p]!;
    for (let d = 0; d < net.dim; d++) e[d]! += v * net.a[p * net.dim + d]!;
  }
  return e;
}

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** Unit columns of W. */
function unitColumns(net: LinearNet): number[][] {
  return Array.from({ length: net.classes }, (_, j) => {
    const col = Array.from({ length: net.dim }, (_, d) => net.w[d * net.classes + j]!);
    const len = norm(col);
    return col.map((v) => v / len);
  });
}

/** Eq. 1 for one image in float64, from its embedding. */
export function gamObjective64(net: LinearNet, e: number[], scale: number): number {
  const eHat = e.map((v) => v / norm(e));
  const z = unitColumns(net).map((w) => scale * w.reduce((s, wd, d) => s + wd * eHat[d]!, 0));
  const zMax = Math.max(...z);
  const ex = z.map((v) => Math.exp(v - zMax));
  const sum = ex.reduce((s, v) => s + v, 0);
  const p = ex.map((v) => v / sum);
  const pMax = Math.max(...p);
  return p.reduce((s, pi) => s + (pMax - pi), 0) / net.classes;
}

/** ∂T/∂e for one image, derived by hand: softmax Jacobian, then the normalisation's. */
export function gamObjectiveGradient64(net: LinearNet, e: number[], scale: number): number[] {
  const length = norm(e);
  const eHat = e.map((v) => v / length);
  const w = unitColumns(net);
  const cos = w.map((col) => col.reduce((s, wd, d) => s + wd * eHat[d]!, 0));
  const z = cos.map((c) => scale * c);
  const zMax = Math.max(...z);
  const ex = z.map((v) => Math.exp(v - zMax));
  const sum = ex.reduce((s, v) => s + v, 0);
  const p = ex.map((v) => v / sum);
  const m = p.indexOf(Math.max(...p));
  // T = P_m − (1/C) Σ_i P_i, so ∂T/∂P_j = g_j = [j = m] − 1/C, and through the softmax Jacobian
  // ∂T/∂z_k = P_k (g_k − Σ_j g_j P_j) = P_k ([k = m] − P_m). At k = m, 1 − P_m is summed from the
  // other classes so that float64 keeps it exact when P_m is within 1e-16 of 1.
  const rest = p.reduce((s, pj, j) => (j === m ? s : s + pj), 0);
  // ∂cos_k/∂e = (ŵ_k − cos_k ê) / |e|.
  const dCos = p.map((pk, k) => scale * pk * (k === m ? rest : -p[m]!));
  const out = new Array<number>(net.dim).fill(0);
  dCos.forEach((dc, k) => {
    for (let d = 0; d < net.dim; d++) out[d]! += (dc * (w[k]![d]! - cos[k]! * eHat[d]!)) / length;
  });
  return out;
}

/** A map [H·W] = max over channels of |A·∂T/∂e| for one image, from ∂T/∂e. */
export function channelMaxAbs64(net: LinearNet, dTde: number[]): number[] {
  const map: number[] = [];
  for (let pixel = 0; pixel < net.height * net.width; pixel++) {
    let best = 0;
    for (let c = 0; c < net.channels; c++) {
      const p = pixel * net.channels + c;
      let g = 0;
      for (let d = 0; d < net.dim; d++) g += net.a[p * net.dim + d]! * dTde[d]!;
      best = Math.max(best, Math.abs(g));
    }
    map.push(best);
  }
  return map;
}

/** The raw GAM of one image of a LinearNet in float64. */
export function gam64(net: LinearNet, image: number, scale: number): number[] {
  return channelMaxAbs64(net, gamObjectiveGradient64(net, embedding64(net, image), scale));
}

/** Largest |a − b| over the largest |b|. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

/**
 * A tiny convolutional embedder: tanh(conv3x3(x, K)) flattened, times B, and a head W. Its weights
 * are plain tensors so that tests can differentiate with respect to them.
 */
export interface ConvNetWeights {
  readonly kernel: tf.Tensor4D;
  readonly dense: tf.Tensor2D;
  readonly head: tf.Tensor2D;
}

export const CONV = { height: 6, width: 6, channels: 3, filters: 2, dim: 4, classes: 5 } as const;

export function convNetWeights(seed: number): ConvNetWeights {
  const flat = CONV.height * CONV.width * CONV.filters;
  return {
    kernel: tf.tensor4d(sequence(9 * CONV.channels * CONV.filters, seed, 0.6), [
      3,
      3,
      CONV.channels,
      CONV.filters,
    ]),
    dense: tf.tensor2d(sequence(flat * CONV.dim, seed + 1, 0.4), [flat, CONV.dim]),
    head: tf.tensor2d(sequence(CONV.dim * CONV.classes, seed + 2, 1), [CONV.dim, CONV.classes]),
  };
}

export function convImages(seed: number, n: number): tf.Tensor4D {
  return tf.tensor4d(sequence(n * CONV.height * CONV.width * CONV.channels, seed, 1), [
    n,
    CONV.height,
    CONV.width,
    CONV.channels,
  ]);
}

/** Eval-mode embedder: images do not interact. */
export function convEmbed(weights: ConvNetWeights): EmbeddingFn {
  return (x) =>
    tf.matMul(tf.reshape(tf.tanh(tf.conv2d(x, weights.kernel, 1, 'same')), [x.shape[0], -1]), weights.dense);
}

/** The same embedder with a training-mode batch norm (batch statistics) after the convolution. */
export function convEmbedBatchStatistics(weights: ConvNetWeights): EmbeddingFn {
  return (x) => {
    const c = tf.conv2d(x, weights.kernel, 1, 'same');
    const { mean, variance } = tf.moments(c, [0, 1, 2], true);
    const normalised = tf.div(tf.sub(c, mean), tf.sqrt(tf.add(variance, 1e-5)));
    return tf.matMul(tf.reshape(tf.tanh(normalised), [x.shape[0], -1]), weights.dense);
  };
}

/**
 * Grad-CAM stages of a small net: A = ReLU(conv3x3 stride 2 (x)) [N, h, w, K] (h = ⌈H/2⌉), then
 * e = flatten(A)·B.
 */
export function camStages(kernel: tf.Tensor4D, dense: tf.Tensor2D): FeatureStages {
  return {
    features: (x) => tf.relu(tf.conv2d(x, kernel, 2, 'same')),
    embedFeatures: (a) => tf.matMul(tf.reshape(a, [a.shape[0], -1]), dense),
  };
}
