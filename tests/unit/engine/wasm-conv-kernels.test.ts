import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { sequence } from './second-order-cases.ts';

// The wasm Conv2DBackpropFilter / Conv2DBackpropInput kernels are recomputations of the cpu
// backend's reference kernels through XNNPACK convolutions. Same inputs, both backends, every
// geometry the project's networks use (3x3 stride 1/2 'same', 1x1 stride 2 shortcuts, the 7x7
// stride-2 stem of the ResNet-18 discriminator, 'valid', explicit and odd sizes, and strided
// shapes beyond them).
interface Geometry {
  readonly name: string;
  readonly x: [number, number, number, number];
  readonly k: [number, number, number, number];
  readonly stride: number;
  readonly pad: 'same' | 'valid' | number;
}

const GEOMETRIES: Geometry[] = [
  { name: '3x3 stride 1 same', x: [2, 7, 7, 3], k: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: '3x3 stride 2 same, even size', x: [2, 8, 8, 3], k: [3, 3, 3, 5], stride: 2, pad: 'same' },
  { name: '3x3 stride 2 same, odd size', x: [1, 7, 9, 2], k: [3, 3, 2, 3], stride: 2, pad: 'same' },
  { name: '1x1 stride 2 (shortcut)', x: [2, 8, 8, 4], k: [1, 1, 4, 6], stride: 2, pad: 'valid' },
  { name: '7x7 stride 2 pad 3 (discriminator stem)', x: [1, 16, 16, 1], k: [7, 7, 1, 4], stride: 2, pad: 3 },
  { name: '3x3 stride 1 valid', x: [1, 6, 5, 2], k: [3, 3, 2, 2], stride: 1, pad: 'valid' },
  { name: '3x3 stride 2 valid, odd size', x: [1, 9, 9, 2], k: [3, 3, 2, 2], stride: 2, pad: 'valid' },
  { name: '3x3 stride 1 pad 1 explicit', x: [1, 5, 5, 3], k: [3, 3, 3, 2], stride: 1, pad: 1 },
  // Strided input gradients are split by phase: phases without taps, rows dy never reaches.
  { name: '1x1 stride 2, odd size', x: [1, 7, 5, 3], k: [1, 1, 3, 2], stride: 2, pad: 'valid' },
  { name: '2x2 stride 2 valid', x: [2, 6, 7, 2], k: [2, 2, 2, 3], stride: 2, pad: 'valid' },
  { name: '3x3 stride 3 same', x: [1, 10, 8, 2], k: [3, 3, 2, 2], stride: 3, pad: 'same' },
  { name: '5x5 stride 2 pad 2', x: [1, 9, 8, 2], k: [5, 5, 2, 3], stride: 2, pad: 2 },
];

function gradients(g: Geometry): { dx: Float32Array; dk: Float32Array } {
  return tf.tidy(() => {
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const x = tf.tensor4d(sequence(size(g.x), 11), g.x);
    const k = tf.tensor4d(sequence(size(g.k), 12, 0.5), g.k);
    const outShape = tf.conv2d(x, k, g.stride, g.pad).shape;
    const probe = tf.tensor(sequence(size(outShape), 13), outShape);
    const [dx, dk] = tf.grads((xx: tf.Tensor, kk: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, kk as tf.Tensor4D, g.stride, g.pad), probe)),
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

describe('wasm convolution gradient kernels agree with the cpu reference', () => {
  for (const g of GEOMETRIES) {
    it(g.name, async () => {
      await loadEngine({ backend: 'cpu' });
      const reference = gradients(g);
      await loadEngine({ backend: 'wasm' });
      expect(tf.getBackend()).toBe('wasm');
      const before = tf.memory();
      const fromWasm = gradients(g);
      const after = tf.memory();
      // float32 sums in a different order: 1e-5 of the largest entry.
      expect(maxRelativeDifference(reference.dx, fromWasm.dx)).toBeLessThan(1e-5);
      expect(maxRelativeDifference(reference.dk, fromWasm.dk)).toBeLessThan(1e-5);
      expect(after.numTensors).toBe(before.numTensors);
      expect(after.numBytes).toBe(before.numBytes);
    });
  }
});

/** dx of a convolution by its definition: each dy value spread back over the inputs it read. */
function definitionInputGradient(
  dy: ArrayLike<number>,
  [n, oh, ow, co]: readonly number[],
  filter: ArrayLike<number>,
  [kh, kw, ci]: readonly number[],
  [h, w]: readonly [number, number],
  [sh, sw]: readonly [number, number],
  [top, left]: readonly [number, number],
): Float32Array {
  const dx = new Float32Array(n! * h * w * ci!);
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < oh!; y++)
      for (let x = 0; x < ow!; x++)
        for (let i = 0; i < kh!; i++)
          for (let j = 0; j < kw!; j++) {
            const r = y * sh + i - top;
            const c = x * sw + j - left;
            if (r < 0 || r >= h || c < 0 || c >= w) continue;
            for (let a = 0; a < ci!; a++)
              for (let o = 0; o < co!; o++)
                dx[((b * h + r) * w + c) * ci! + a]! +=
                  dy[((b * oh! + y) * ow! + x) * co! + o]! * filter[((i * kw! + j) * ci! + a) * co! + o]!;
          }
  return dx;
}

describe('the wasm input gradient with uneven strides', () => {
  // Called as a transposed convolution and checked against the definition: with uneven strides the
  // wasm backend's forward convolution writes out of bounds, and the cpu backend's transposed
  // convolution is wrong, so neither can be the reference here.
  for (const [strides, oh, ow] of [
    [[3, 1], 3, 8],
    [[1, 2], 9, 4],
  ] as [[number, number], number, number][]) {
    it(`5x5, strides ${strides.join(' and ')}, pad 2`, async () => {
      await loadEngine({ backend: 'wasm' });
      const dy = sequence(oh * ow * 3, 21);
      const filter = sequence(5 * 5 * 2 * 3, 22, 0.5);
      const fromWasm = tf.tidy(
        () =>
          tf
            .conv2dTranspose(
              tf.tensor4d(dy, [1, oh, ow, 3]),
              tf.tensor4d(filter, [5, 5, 2, 3]),
              [1, 9, 8, 2],
              strides,
              2,
            )
            .dataSync() as Float32Array,
      );
      const expected = definitionInputGradient(
        dy,
        [1, oh, ow, 3],
        filter,
        [5, 5, 2],
        [9, 8],
        strides,
        [2, 2],
      );
      expect(maxRelativeDifference(expected, fromWasm)).toBeLessThan(1e-5);
    });
  }
});

describe('wasm zero-copy Identity and Cast', () => {
  it('shares the buffer and keeps values', async () => {
    await loadEngine({ backend: 'wasm' });
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
  });

  it('casts to the same dtype without a copy, and to bool as "not zero"', async () => {
    await loadEngine({ backend: 'wasm' });
    const before = tf.memory().numDataBuffers;
    const x = tf.tensor1d([1.75, -2.5, 0, 0.5, 256, -0]);
    const same = tf.cast(x, 'float32');
    expect(same.dataId).toBe(x.dataId);
    expect(tf.memory().numDataBuffers - before).toBe(1);
    const integers = tf.cast(x, 'int32');
    const flags = tf.cast(x, 'bool');
    expect(integers.dataId).not.toBe(x.dataId);
    x.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.75, -2.5, 0, 0.5, 256, -0]);
    expect(Array.from(integers.dataSync())).toEqual([1, -2, 0, 0, 256, 0]);
    expect(Array.from(flags.dataSync())).toEqual([1, 1, 0, 1, 1, 0]);
    const counts = tf.tensor1d([3, -1, 0, 256], 'int32');
    const countFlags = tf.cast(counts, 'bool');
    expect(Array.from(countFlags.dataSync())).toEqual([1, 1, 0, 1]);
    counts.dispose();
    countFlags.dispose();
    same.dispose();
    integers.dispose();
    flags.dispose();
    expect(tf.memory().numDataBuffers).toBe(before);
  });
});
