/**
 * Second-order test cases, one per op on the GABN path. Each case defines an inner scalar function
 * g(x; θ) and a fixed weighting r; the outer loss is L(θ) = Σ r ⊙ ∂g/∂x, i.e. a function of a
 * gradient with respect to the input, exactly the shape of GAM-CT's adversarial loss. Tests compare
 * dL/dθ from tfjs double backprop with central finite differences of L.
 *
 * Inputs are chosen away from kinks (PReLU at 0, |x| at 0, ties in max) by more than the largest
 * finite-difference step, so every case is smooth where it is probed.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { logSoftmax } from '../../../main/engine/ops.ts';
import type { tf as TF } from '../../../main/engine/tf.ts';

type Tf = typeof TF;

export interface SecondOrderCase {
  readonly name: string;
  /** The kernels this case exercises at second order (for the report and the uncorrected test). */
  readonly kernels: readonly string[];
  readonly x: number[];
  readonly xShape: number[];
  readonly theta: Record<string, { values: number[]; shape: number[] }>;
  readonly inner: (tf: Tf, x: Tensor, theta: Record<string, Tensor>) => Tensor;
  /** The outer loss from ∂g/∂x; default Σ r ⊙ ∂g/∂x. */
  readonly outer?: (tf: Tf, gradX: Tensor, r: Tensor) => Tensor;
  /**
   * What stock tfjs 4.22 (no corrections, cpu backend) does on this case: 'wrong' (a silently wrong
   * second-order gradient), 'throws' (no gradient registered), or 'right' (a control that shows the
   * finite-difference check does not fail everything).
   */
  readonly stock: 'right' | 'wrong' | 'throws';
  /**
   * Finite-difference step. 1e-2 by default; larger where the loss is large next to its gradient
   * (training-mode batch norm projects the input gradient orthogonally to the constant and the
   * normalised input, which cancels most of the dependence on γ and β), so that float32 rounding of
   * the loss does not swamp the difference.
   */
  readonly step?: number;
}

/** A deterministic pseudo-random sequence (no Math.random in tests). */
export function sequence(n: number, seed: number, scale = 1, offset = 0): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out.push(offset + scale * (u * 2 - 1));
  }
  return out;
}

/** Values in [lo, hi] or [-hi, -lo]: bounded away from zero so PReLU and |x| stay on one side. */
function awayFromZero(n: number, seed: number, lo = 0.3, hi = 1.2): number[] {
  return sequence(n, seed).map((u) => Math.sign(u || 1) * (lo + (hi - lo) * Math.abs(u)));
}

const vec = (values: number[], shape = [values.length]) => ({ values, shape });

export const SECOND_ORDER_CASES: SecondOrderCase[] = [
  {
    name: 'Exp',
    stock: 'wrong',
    kernels: ['Exp'],
    x: sequence(6, 1, 0.8),
    xShape: [6],
    theta: { w: vec([0.7, -0.4, 0.9, 0.3, -0.6, 0.5]) },
    inner: (tf, x, t) => tf.sum(tf.exp(tf.mul(t.w!, x))),
  },
  {
    name: 'Softmax',
    stock: 'throws',
    kernels: ['Softmax'],
    x: sequence(10, 2, 1.0),
    xShape: [2, 5],
    theta: { b: vec(sequence(5, 3, 0.5)) },
    inner: (tf, x, t) =>
      tf.sum(tf.mul(tf.softmax(tf.mul(tf.add(x, t.b!), 1.7)), tf.tensor1d([1, -2, 0.5, 3, -1]))),
  },
  {
    name: 'log softmax (engine op: logits - logsumexp)',
    stock: 'throws',
    kernels: ['Exp', 'Log', 'Max'],
    x: sequence(8, 4, 1.0),
    xShape: [2, 4],
    theta: { w: vec(sequence(4, 5, 0.8)) },
    inner: (tf, x, t) => tf.sum(tf.mul(logSoftmax(tf.mul(x, t.w!)), tf.tensor1d([0.3, -1, 2, 0.7]))),
  },
  {
    name: 'Log',
    stock: 'right',
    kernels: ['Log'],
    x: sequence(5, 6, 0.5, 1.5),
    xShape: [5],
    theta: { w: vec(sequence(5, 7, 0.4, 1.2)) },
    inner: (tf, x, t) => tf.sum(tf.mul(tf.log(tf.mul(x, t.w!)), tf.square(t.w!))),
  },
  {
    name: 'Sigmoid',
    stock: 'wrong',
    kernels: ['Sigmoid'],
    x: sequence(6, 8, 1.5),
    xShape: [6],
    theta: { w: vec(sequence(6, 9, 1.0)) },
    inner: (tf, x, t) => tf.sum(tf.sigmoid(tf.mul(x, t.w!))),
  },
  {
    name: 'Tanh',
    stock: 'wrong',
    kernels: ['Tanh'],
    x: sequence(6, 10, 1.0),
    xShape: [6],
    theta: { w: vec(sequence(6, 11, 1.0)) },
    inner: (tf, x, t) => tf.sum(tf.tanh(tf.mul(x, t.w!))),
  },
  {
    name: 'Pow with a weight as exponent',
    stock: 'right',
    kernels: ['Pow'],
    x: sequence(5, 12, 0.5, 1.5),
    xShape: [5],
    theta: { p: vec([1.7, 2.3, 0.6, 1.2, 2.9]) },
    inner: (tf, x, t) => tf.sum(tf.pow(x, t.p!)),
  },
  {
    name: 'Pow with the input as exponent',
    stock: 'throws',
    kernels: ['Pow'],
    x: sequence(5, 38, 0.5, 1.0),
    xShape: [5],
    theta: { base: vec([1.7, 2.3, 0.6, 1.2, 2.9]) },
    inner: (tf, x, t) => tf.sum(tf.pow(t.base!, x)),
  },
  {
    name: 'Sqrt and Rsqrt',
    stock: 'right',
    kernels: ['Sqrt', 'Rsqrt'],
    x: sequence(6, 13, 0.5, 1.5),
    xShape: [6],
    theta: { w: vec(sequence(6, 14, 0.5, 1.5)) },
    inner: (tf, x, t) => tf.add(tf.sum(tf.sqrt(tf.mul(x, t.w!))), tf.sum(tf.rsqrt(tf.add(x, t.w!)))),
  },
  {
    name: 'Max over an axis (P_max of Eq. 1)',
    stock: 'throws',
    kernels: ['Max', 'Equal'],
    x: [0.9, -0.2, 0.1, 0.4, -0.7, 1.3, 0.2, 0.5],
    xShape: [2, 4],
    theta: { w: vec([1.1, 0.8, -0.5, 0.6]) },
    inner: (tf, x, t) => {
      const z = tf.mul(x, t.w!);
      return tf.sum(tf.mul(tf.max(z, 1), tf.sum(tf.square(z), 1)));
    },
  },
  {
    name: 'Min over an axis',
    stock: 'throws',
    kernels: ['Min', 'Equal'],
    x: [0.9, -0.2, 0.1, 0.4, -0.7, 1.3, 0.2, 0.5],
    xShape: [2, 4],
    theta: { w: vec([1.1, 0.8, -0.5, 0.6]) },
    inner: (tf, x, t) => {
      const z = tf.mul(x, t.w!);
      return tf.sum(tf.mul(tf.min(z, 1), tf.sum(tf.square(z), 1)));
    },
  },
  {
    name: 'Abs',
    stock: 'right',
    kernels: ['Abs'],
    x: awayFromZero(6, 15),
    xShape: [6],
    theta: { w: vec(awayFromZero(6, 16, 0.5, 1.5)) },
    inner: (tf, x, t) => tf.sum(tf.mul(tf.abs(tf.mul(x, t.w!)), tf.square(x))),
  },
  {
    name: 'PReLU',
    stock: 'throws',
    kernels: ['Prelu', 'Greater'],
    x: awayFromZero(8, 17),
    xShape: [2, 4],
    theta: { a: vec([0.25, 0.1, 0.3, 0.2]), w: vec([1.2, 0.9, 1.1, 0.8]) },
    inner: (tf, x, t) => tf.sum(tf.square(tf.prelu(tf.mul(x, t.w!), t.a!))),
  },
  {
    name: 'MatMul and add',
    stock: 'right',
    kernels: ['BatchMatMul', 'Add'],
    x: sequence(6, 18, 1.0),
    xShape: [2, 3],
    theta: { w: vec(sequence(12, 19, 0.7), [3, 4]), b: vec(sequence(4, 20, 0.3)) },
    inner: (tf, x, t) => tf.sum(tf.square(tf.add(tf.matMul(x, t.w!), t.b!))),
  },
  {
    name: 'L2 normalisation',
    stock: 'right',
    kernels: ['Sum', 'Rsqrt', 'Mul'],
    x: sequence(8, 21, 1.0),
    xShape: [2, 4],
    theta: { w: vec(sequence(16, 22, 0.8), [4, 4]) },
    inner: (tf, x, t) => {
      const e = tf.matMul(x, t.w!);
      const unit = tf.mul(e, tf.rsqrt(tf.add(tf.sum(tf.square(e), 1, true), 1e-12)));
      return tf.sum(tf.mul(unit, tf.tensor1d([1, -1, 2, 0.5])));
    },
  },
  {
    name: 'ArcFace margin cos(θ + m)',
    stock: 'right',
    kernels: ['Sqrt', 'Mul', 'Sub'],
    x: sequence(6, 23, 0.5),
    xShape: [2, 3],
    theta: { w: vec(sequence(9, 24, 0.6), [3, 3]) },
    inner: (tf, x, t) => {
      const e = tf.matMul(x, t.w!);
      const cos = tf.div(e, tf.sqrt(tf.add(tf.sum(tf.square(e), 1, true), 1e-6)));
      const sin = tf.sqrt(tf.sub(1.0001, tf.square(cos)));
      const m = 0.35;
      return tf.sum(tf.square(tf.sub(tf.mul(cos, Math.cos(m)), tf.mul(sin, Math.sin(m)))));
    },
  },
  {
    name: 'Reshape, transpose and mean',
    stock: 'right',
    kernels: ['Reshape', 'Transpose', 'Mean'],
    x: sequence(12, 25, 1.0),
    xShape: [2, 6],
    theta: { w: vec(sequence(6, 26, 1.0), [6]) },
    inner: (tf, x, t) =>
      tf.sum(tf.square(tf.mean(tf.transpose(tf.reshape(tf.mul(x, t.w!), [2, 2, 3]), [0, 2, 1]), 2))),
  },
  {
    name: 'conv2d stride 1 same',
    stock: 'right',
    kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    x: sequence(2 * 5 * 5 * 2, 27, 1.0),
    xShape: [2, 5, 5, 2],
    theta: { k: vec(sequence(3 * 3 * 2 * 3, 28, 0.3), [3, 3, 2, 3]) },
    inner: (tf, x, t) => tf.sum(tf.square(tf.conv2d(x as TF.Tensor4D, t.k as TF.Tensor4D, 1, 'same'))),
  },
  {
    name: 'conv2d stride 2 same, then Softmax',
    stock: 'wrong',
    kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Softmax'],
    x: sequence(1 * 6 * 6 * 2, 29, 1.0),
    xShape: [1, 6, 6, 2],
    theta: { k: vec(sequence(3 * 3 * 2 * 4, 30, 0.3), [3, 3, 2, 4]) },
    inner: (tf, x, t) => {
      const y = tf.conv2d(x as TF.Tensor4D, t.k as TF.Tensor4D, 2, 'same');
      return tf.sum(tf.mul(tf.softmax(tf.reshape(y, [-1, 4])), tf.tensor1d([1, -1, 0.5, 2])));
    },
  },
  {
    name: 'conv2d stride 2 valid',
    stock: 'wrong',
    kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    x: sequence(1 * 7 * 7 * 1, 31, 1.0),
    xShape: [1, 7, 7, 1],
    theta: { k: vec(sequence(3 * 3 * 1 * 2, 32, 0.4), [3, 3, 1, 2]) },
    inner: (tf, x, t) => tf.sum(tf.tanh(tf.conv2d(x as TF.Tensor4D, t.k as TF.Tensor4D, 2, 'valid'))),
  },
  {
    name: 'batch norm from moments (training mode)',
    stock: 'right',
    step: 0.1,
    kernels: ['Mean', 'SquaredDifference', 'Rsqrt'],
    x: sequence(2 * 3 * 3 * 2, 33, 1.0),
    xShape: [2, 3, 3, 2],
    theta: { gamma: vec([1.1, 0.9]), beta: vec([0.1, -0.2]) },
    inner: (tf, x, t) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
      const y = tf.add(tf.mul(normed, t.gamma!), t.beta!);
      return tf.sum(tf.mul(tf.sin(tf.mul(y, 2.5)), tf.tensor1d([1, -0.5])));
    },
  },
  {
    name: 'tf.batchNorm (FusedBatchNorm gradient)',
    stock: 'right',
    step: 0.1,
    kernels: ['FusedBatchNorm'],
    x: sequence(2 * 3 * 3 * 2, 34, 1.0),
    xShape: [2, 3, 3, 2],
    theta: { gamma: vec([1.1, 0.9]), beta: vec([0.1, -0.2]) },
    inner: (tf, x, t) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const y = tf.batchNorm(x, mean, variance, t.beta as TF.Tensor1D, t.gamma as TF.Tensor1D, 1e-5);
      return tf.sum(tf.mul(tf.sin(tf.mul(y, 2.5)), tf.tensor1d([1, -0.5])));
    },
  },
  {
    name: 'tile (Tile gradient)',
    stock: 'right',
    kernels: ['Tile'],
    x: sequence(2 * 3, 36, 1.0),
    xShape: [2, 3],
    theta: { w: vec(sequence(2 * 3, 37, 0.5), [2, 3]) },
    inner: (tf, x, t) => tf.sum(tf.sin(tf.mul(tf.tile(tf.mul(x, t.w!), [3, 2]), 1.5))),
  },
  {
    name: 'GAM-style: max over channels of |dT/dx| after softmax (Eq. 1-2)',
    stock: 'throws',
    kernels: ['Softmax', 'Max', 'Abs', 'Conv2D'],
    x: sequence(1 * 4 * 4 * 3, 35, 1.0),
    xShape: [1, 4, 4, 3],
    theta: {
      k: vec(sequence(3 * 3 * 3 * 2, 36, 0.4), [3, 3, 3, 2]),
      w: vec(sequence(8 * 3, 37, 0.5), [8, 3]),
    },
    inner: (tf, x, t) => {
      const h = tf.conv2d(x as TF.Tensor4D, t.k as TF.Tensor4D, 2, 'same');
      const logits = tf.matMul(tf.reshape(h, [1, 8]), t.w as TF.Tensor2D);
      const p = tf.softmax(tf.mul(logits, 2));
      return tf.mean(tf.sub(tf.max(p, 1, true), p));
    },
    outer: (tf, gradX, r) =>
      tf.sum(
        tf.mul(tf.max(tf.abs(gradX), 3), tf.reshape(tf.slice(tf.reshape(r, [-1]), [0], [16]), [1, 4, 4])),
      ),
  },
];
