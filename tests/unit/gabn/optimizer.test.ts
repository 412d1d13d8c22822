import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { createSgd, learningRateAt, restoreSgd, sgdState, sgdStep } from '../../../main/gabn/optimizer.ts';

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
});

/** The same update in float64, written from torch.optim.SGD's documented algorithm. */
function reference(p0: number[], grads: number[][], lr: number, mu: number, wd: number): number[] {
  const p = [...p0];
  let b: number[] | undefined;
  for (const g of grads) {
    const d = g.map((gi, i) => gi + wd * p[i]!);
    b = b === undefined ? d : b.map((bi, i) => mu * bi + d[i]!);
    for (let i = 0; i < p.length; i++) p[i]! -= lr * b[i]!;
  }
  return p;
}

describe('SGD with momentum and weight decay', () => {
  const grads = [
    [0.5, -1, 2],
    [0.1, 0.3, -0.2],
    [-0.4, 0.2, 0.9],
  ];
  it('follows the PyTorch update for three steps', () => {
    const p = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const sgd = createSgd({ momentum: 0.9, weightDecay: 5e-4 });
    for (const g of grads) sgdStep(sgd, { w: p }, { w: tf.tensor1d(g) }, 0.1);
    const expected = reference([1, -2, 0.5], grads, 0.1, 0.9, 5e-4);
    Array.from(p.dataSync()).forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i]!, 5);
    });
  });
  it('leaves parameters without a gradient untouched', () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3, 4]));
    sgdStep(createSgd({ momentum: 0.9, weightDecay: 0.1 }), { a, b }, { a: tf.tensor1d([1, 1]) }, 0.5);
    expect(Array.from(b.dataSync())).toEqual([3, 4]);
    expect(Array.from(a.dataSync())).not.toEqual([1, 2]);
  });
  it('resumes from saved state exactly where it stopped', async () => {
    const straight = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const sgd = createSgd({ momentum: 0.9, weightDecay: 5e-4 });
    for (const g of grads) sgdStep(sgd, { w: straight }, { w: tf.tensor1d(g) }, 0.1);

    const resumed = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const first = createSgd({ momentum: 0.9, weightDecay: 5e-4 });
    sgdStep(first, { w: resumed }, { w: tf.tensor1d(grads[0]!) }, 0.1);
    const restored = restoreSgd({ momentum: 0.9, weightDecay: 5e-4 }, await sgdState(first));
    for (const g of grads.slice(1)) sgdStep(restored, { w: resumed }, { w: tf.tensor1d(g) }, 0.1);
    expect(Array.from(resumed.dataSync())).toEqual(Array.from(straight.dataSync()));
  });
  it('divides the rate by 10 at the paper milestones (MultiStepLR)', () => {
    const rates = [0, 8, 9, 14, 15, 19, 20, 29].map((e) => learningRateAt(e, 0.1, [9, 15, 20], 0.1));
    [0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001].forEach((r, i) => {
      expect(rates[i]).toBeCloseTo(r, 12);
    });
  });
});
