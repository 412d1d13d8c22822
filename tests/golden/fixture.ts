/**
 * Loading golden fixtures written by the PyTorch scripts in tests/golden/ (flat number lists with
 * their shapes, already in tfjs layouts) and comparing tfjs results with them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../../main/engine/tf.ts';

/** A tensor as the fixtures store it: row-major values and the shape they fill. */
export interface FlatArray {
  readonly shape: number[];
  readonly data: number[];
}

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', name), 'utf8')) as T;
}

export function toTensor(a: FlatArray): tf.Tensor {
  const size = a.shape.reduce((p, d) => p * d, 1);
  if (size !== a.data.length) {
    throw new Error(`fixture array of shape [${a.shape}] holds ${a.data.length} values, expected ${size}`);
  }
  return tf.tensor(a.data, a.shape, 'float32');
}

/**
 * ‖actual − expected‖₂ / ‖expected‖₂ over the whole tensor (float64 arithmetic); Infinity on a length
 * mismatch or a non-finite value, so a broken result can never pass.
 */
export function relativeError(actual: ArrayLike<number>, expected: FlatArray | number): number {
  const want = typeof expected === 'number' ? [expected] : expected.data;
  if (actual.length !== want.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < want.length; i++) {
    const d = actual[i]! - want[i]!;
    if (!Number.isFinite(d)) return Number.POSITIVE_INFINITY;
    diff += d * d;
    norm += want[i]! * want[i]!;
  }
  return Math.sqrt(diff) / Math.sqrt(norm);
}
