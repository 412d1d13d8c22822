import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { sequence } from './second-order-cases.ts';

// The wasm DepthwiseConv2dNativeBackpropInput / ...Filter kernels (the backend has none) are the
// gradients of the block-diagonal ordinary convolution. Same inputs on the cpu backend's reference
// kernels and on wasm, through the fused depthwise op graph models use (bias and ReLU) and the plain
// one, for the geometries of MobileFaceNet (3×3 stride 1 and 2 'same', the 7×7 'valid' GDConv) and a
// channel multiplier of 2.
interface Geometry {
  readonly name: string;
  readonly x: [number, number, number, number];
  readonly k: [number, number, number, number];
  readonly stride: number;
  readonly pad: 'same' | 'valid';
  readonly fused: boolean;
}

const GEOMETRIES: Geometry[] = [
  { name: '3x3 stride 1 same', x: [2, 7, 7, 3], k: [3, 3, 3, 1], stride: 1, pad: 'same', fused: false },
  {
    name: '3x3 stride 2 same, odd size',
    x: [1, 9, 7, 4],
    k: [3, 3, 4, 1],
    stride: 2,
    pad: 'same',
    fused: true,
  },
  {
    name: '3x3 stride 2 same, multiplier 2',
    x: [2, 8, 8, 3],
    k: [3, 3, 3, 2],
    stride: 2,
    pad: 'same',
    fused: false,
  },
  {
    name: '7x7 valid (global depthwise)',
    x: [2, 7, 7, 5],
    k: [7, 7, 5, 1],
    stride: 1,
    pad: 'valid',
    fused: true,
  },
];

function gradients(g: Geometry): { dx: Float32Array; dk: Float32Array } {
  return tf.tidy(() => {
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const x = tf.tensor4d(sequence(size(g.x), 21), g.x);
    const k = tf.tensor4d(sequence(size(g.k), 22, 0.5), g.k);
    const bias = tf.tensor1d(sequence(g.k[2] * g.k[3], 23, 0.1));
    const conv = (xx: tf.Tensor4D, kk: tf.Tensor4D) =>
      g.fused
        ? tf.fused.depthwiseConv2d({
            x: xx,
            filter: kk,
            strides: g.stride,
            pad: g.pad,
            bias,
            activation: 'relu',
          })
        : tf.depthwiseConv2d(xx, kk, g.stride, g.pad);
    const outShape = conv(x, k).shape;
    const probe = tf.tensor(sequence(size(outShape), 24), outShape);
    const [dx, dk] = tf.grads((xx: tf.Tensor, kk: tf.Tensor) =>
      tf.sum(tf.mul(conv(xx as tf.Tensor4D, kk as tf.Tensor4D), probe)),
    )([x, k]);
    return { dx: dx!.dataSync() as Float32Array, dk: dk!.dataSync() as Float32Array };
  });
}

function maxRelativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

describe('wasm depthwise convolution gradient kernels agree with the cpu reference', () => {
  for (const g of GEOMETRIES) {
    it(`${g.name}${g.fused ? ' (fused, bias and ReLU)' : ''}`, async () => {
      await loadEngine({ backend: 'cpu' });
      const reference = gradients(g);
      expect(reference.dx.some((v) => v !== 0)).toBe(true);
      await loadEngine({ backend: 'wasm' });
      expect(tf.getBackend()).toBe('wasm');
      const before = tf.memory();
      const fromWasm = gradients(g);
      const after = tf.memory();
      expect(maxRelativeDifference(reference.dx, fromWasm.dx)).toBeLessThan(1e-5);
      expect(maxRelativeDifference(reference.dk, fromWasm.dk)).toBeLessThan(1e-5);
      expect(after.numTensors).toBe(before.numTensors);
    });
  }
});
