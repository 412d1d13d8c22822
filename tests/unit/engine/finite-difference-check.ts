/**
 * Compares tfjs double-backprop gradients with central finite differences of the same loss.
 *
 * The loss is evaluated in float32 by tfjs, so the finite difference uses Richardson extrapolation
 * of two central differences (steps h and h/2): truncation error O(h^4) instead of O(h^2), which
 * allows a large h (1e-2, or 0.1 where a case says so) where float32 rounding noise (~6e-8 |L| / h) stays near 1e-5 relative.
 * An entry passes when |analytic - numeric| <= 2e-3 * scale + 1e-5, where scale is the largest
 * |numeric| over the parameter tensor: tight enough to catch the stock tfjs errors (10-60% off), and
 * loose enough for float32 accumulation inside convolutions.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { tf as TF } from '../../../main/engine/tf.ts';
import { type SecondOrderCase, sequence } from './second-order-cases.ts';

type Tf = typeof TF;

export const RELATIVE_TOLERANCE = 2e-3;
export const ABSOLUTE_TOLERANCE = 1e-5;
const DEFAULT_STEP = 1e-2;

export interface EntryCheck {
  readonly parameter: string;
  readonly index: number;
  readonly analytic: number;
  readonly numeric: number;
  readonly ok: boolean;
}

export interface CaseCheck {
  readonly entries: EntryCheck[];
  /** Largest |analytic - numeric| / scale over all entries. */
  readonly worstRelativeError: number;
}

function outerLoss(tf: Tf, c: SecondOrderCase, x: Tensor, r: Tensor, theta: Record<string, Tensor>): Tensor {
  const gradX = tf.grad((xx: Tensor) => c.inner(tf, xx, theta))(x);
  return c.outer ? c.outer(tf, gradX, r) : tf.sum(tf.mul(gradX, r));
}

/** The case's input x and weighting r. */
function caseInputs(tf: Tf, c: SecondOrderCase): { x: Tensor; r: Tensor } {
  return { x: tf.tensor(c.x, c.xShape), r: tf.tensor(sequence(c.x.length, 991, 1.0), c.xShape) };
}

/** dL/dθ by double backprop, one tensor per parameter in the order of `c.theta` (the caller disposes). */
function analyticGradientTensors(tf: Tf, c: SecondOrderCase, x: Tensor, r: Tensor): Tensor[] {
  const names = Object.keys(c.theta);
  return tf.tidy(() => {
    const thetas = names.map((n) => tf.tensor(c.theta[n]!.values, c.theta[n]!.shape));
    return tf.grads((...ts: Tensor[]) =>
      outerLoss(tf, c, x, r, Object.fromEntries(names.map((n, i) => [n, ts[i]!]))),
    )(thetas);
  });
}

/**
 * dL/dθ by double backprop, read awaited: the form every backend can run (webgpu cannot read
 * synchronously), for comparing backends with one another.
 */
export async function analyticGradients(tf: Tf, c: SecondOrderCase): Promise<Float32Array[]> {
  const { x, r } = caseInputs(tf, c);
  const grads = analyticGradientTensors(tf, c, x, r);
  try {
    return await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
  } finally {
    tf.dispose([x, r, ...grads]);
  }
}

export function checkCase(tf: Tf, c: SecondOrderCase): CaseCheck {
  const names = Object.keys(c.theta);
  const { x, r } = caseInputs(tf, c);
  const grads = analyticGradientTensors(tf, c, x, r);
  const analytic = grads.map((g) => g.dataSync().slice());
  tf.dispose(grads);
  const lossAt = (name: string, index: number, delta: number): number =>
    tf.tidy(() => {
      const theta: Record<string, Tensor> = {};
      for (const n of names) {
        const values = c.theta[n]!.values.slice();
        if (n === name) values[index]! += delta;
        theta[n] = tf.tensor(values, c.theta[n]!.shape);
      }
      return outerLoss(tf, c, x, r, theta).dataSync()[0]!;
    });
  const entries: EntryCheck[] = [];
  let worst = 0;
  names.forEach((name, p) => {
    const h = c.step ?? DEFAULT_STEP;
    const numeric = c.theta[name]!.values.map((_, i) => {
      const d1 = (lossAt(name, i, h) - lossAt(name, i, -h)) / (2 * h);
      const d2 = (lossAt(name, i, h / 2) - lossAt(name, i, -h / 2)) / h;
      return (4 * d2 - d1) / 3;
    });
    const scale = Math.max(...numeric.map(Math.abs), 1e-6);
    numeric.forEach((n, i) => {
      const a = analytic[p]![i]!;
      const error = Math.abs(a - n);
      worst = Math.max(worst, error / scale);
      entries.push({
        parameter: name,
        index: i,
        analytic: a,
        numeric: n,
        ok: error <= RELATIVE_TOLERANCE * scale + ABSOLUTE_TOLERANCE,
      });
    });
  });
  x.dispose();
  r.dispose();
  return { entries, worstRelativeError: worst };
}
