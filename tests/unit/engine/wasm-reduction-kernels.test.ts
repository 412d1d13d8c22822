/**
 * The wasm Sum and Mean kernels reduce leading axes as a product with a row of ones, and hand every
 * other reduction to the stock kernel. Same inputs on both backends: the cpu backend is the reference.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { sequence } from './second-order-cases.ts';

interface Reduction {
  readonly shape: number[];
  readonly axes: number | number[];
  readonly keepDims: boolean;
  readonly dtype: 'float32' | 'int32';
}

const REDUCTIONS: Reduction[] = [
  { shape: [4, 6, 5, 3], axes: [0, 1, 2], keepDims: false, dtype: 'float32' },
  { shape: [4, 6, 5, 3], axes: [2, 0, 1], keepDims: true, dtype: 'float32' },
  { shape: [7, 3], axes: 0, keepDims: false, dtype: 'float32' },
  { shape: [4, 6, 5, 3], axes: [0, 1], keepDims: false, dtype: 'float32' },
  // Not leading axes, all axes, integers: the stock kernel.
  { shape: [4, 6, 5, 3], axes: [1, 2], keepDims: false, dtype: 'float32' },
  { shape: [4, 6, 5, 3], axes: [0, 1, 2, 3], keepDims: false, dtype: 'float32' },
  { shape: [4, 6, 5, 3], axes: [0, 1, 2], keepDims: false, dtype: 'int32' },
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
      it(`${op} of ${r.dtype} [${r.shape}] over ${JSON.stringify(r.axes)}${r.keepDims ? ', keepDims' : ''}`, async () => {
        await loadEngine({ backend: 'cpu' });
        const reference = reduce(r, op);
        await loadEngine({ backend: 'wasm' });
        expect(tf.getBackend()).toBe('wasm');
        const before = tf.memory().numTensors;
        const result = reduce(r, op);
        expect(tf.memory().numTensors).toBe(before);
        expect(result.shape).toEqual(reference.shape);
        expect(result.dtype).toBe(reference.dtype);
        result.values.forEach((v, i) => {
          expect(v).toBeCloseTo(reference.values[i]!, 4);
        });
      });
    }
  }
});
