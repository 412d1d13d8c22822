/**
 * The wasm Sum and Mean kernels reduce the leading axes of a large float tensor with one average
 * pooling, and hand every other reduction to the stock kernel. Same inputs on both backends: the cpu
 * backend is the reference.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { sequence } from './second-order-cases.ts';

interface Reduction {
  readonly shape: number[];
  readonly axes: number | number[];
  readonly keepDims: boolean;
  readonly dtype: 'float32' | 'int32';
  /** Whether the pooled kernel takes it (large enough, float, leading axes). */
  readonly pooled: boolean;
}

const REDUCTIONS: Reduction[] = [
  { shape: [4, 16, 16, 8], axes: [0, 1, 2], keepDims: false, dtype: 'float32', pooled: true },
  { shape: [2, 32, 16, 8], axes: [2, 0, 1], keepDims: true, dtype: 'float32', pooled: true },
  { shape: [2048, 8], axes: 0, keepDims: false, dtype: 'float32', pooled: true },
  { shape: [8, 16, 16, 2, 4], axes: [0, 1, 2], keepDims: false, dtype: 'float32', pooled: true },
  // Small, not leading axes, all axes, one channel, integers: the stock kernel.
  { shape: [4, 6, 5, 3], axes: [0, 1, 2], keepDims: false, dtype: 'float32', pooled: false },
  { shape: [4, 16, 16, 8], axes: [1, 2], keepDims: false, dtype: 'float32', pooled: false },
  { shape: [4, 16, 16, 8], axes: [0, 1, 2, 3], keepDims: false, dtype: 'float32', pooled: false },
  { shape: [4, 32, 32, 1], axes: [0, 1, 2], keepDims: false, dtype: 'float32', pooled: false },
  { shape: [4, 16, 16, 8], axes: [0, 1, 2], keepDims: false, dtype: 'int32', pooled: false },
];

function reduce(r: Reduction, op: 'sum' | 'mean') {
  return tf.tidy(() => {
    const size = r.shape.reduce((a, b) => a * b, 1);
    const values = sequence(size, 41, 3).map((v) => (r.dtype === 'int32' ? Math.round(v * 10) : v));
    const x = tf.tensor(values, r.shape, r.dtype);
    const y = op === 'sum' ? tf.sum(x, r.axes, r.keepDims) : tf.mean(x, r.axes, r.keepDims);
    return { shape: y.shape, dtype: y.dtype, values: Array.from(y.dataSync()) };
  });
}

describe('wasm Sum and Mean agree with the cpu reference', () => {
  for (const r of REDUCTIONS) {
    for (const op of ['sum', 'mean'] as const) {
      const name = `${op} of ${r.dtype} [${r.shape}] over ${JSON.stringify(r.axes)}${r.keepDims ? ', keepDims' : ''}`;
      it(`${name}${r.pooled ? ', pooled' : ', stock'}`, async () => {
        await loadEngine({ backend: 'cpu' });
        const reference = reduce(r, op);
        await loadEngine({ backend: 'wasm' });
        expect(tf.getBackend()).toBe('wasm');
        const before = tf.memory().numTensors;
        let result: ReturnType<typeof reduce> | undefined;
        const profile = await tf.profile(() => {
          result = reduce(r, op);
        });
        expect(tf.memory().numTensors).toBe(before);
        expect(profile.kernels.some((k) => k.name === 'AvgPool')).toBe(r.pooled);
        expect(result!.shape).toEqual(reference.shape);
        expect(result!.dtype).toBe(reference.dtype);
        // float32 sums of thousands of terms in another order: 1e-5 of the largest value.
        const scale = Math.max(...reference.values.map(Math.abs));
        for (const [i, v] of result!.values.entries()) {
          expect(Math.abs(v - reference.values[i]!)).toBeLessThanOrEqual(1e-5 * scale);
        }
      });
    }
  }
});
