/**
 * Micro-batching: a logical batch cut into parts gets one update from the size-weighted mean of the
 * parts' gradients (the gradient of the batch's mean loss), with L_conf taken over the whole batch.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { confidenceBalanceLoss } from '../../../main/gabn/losses.ts';
import { faceGradients, microBatches, prepareStep, trainStep } from '../../../main/gabn/step/index.ts';
import { GROUPS, tinyBatch, tinyConfig, tinyState } from './train-step-cases.ts';

const LR = 1e-3;

describe('micro-batches', () => {
  it('cut a batch into parts of the given size, the last one shorter', async () => {
    await loadEngine({ backend: 'cpu' });
    const batch = tinyBatch();
    const parts = microBatches(batch, 3);
    expect(parts.map((p) => p.images.shape[0])).toEqual([3, 3, 2]);
    expect(parts.map((p) => [...p.labels])).toEqual([
      [0, 0, 1],
      [1, 2, 2],
      [3, 3],
    ]);
    expect(await parts[2]!.images.array()).toEqual(await tf.slice(batch.images, [6], [2]).array());
    expect(microBatches(batch, 0)).toEqual([batch]);
    expect(microBatches(batch, 8)).toEqual([batch]);
  });

  it('give one update equal to the weighted mean of the parts’ gradients', async () => {
    await loadEngine({ backend: 'cpu' });
    // Plain SGD (no momentum, no decay): the update is −lr · gradient, so the gradient can be read back.
    const config = tinyConfig('confidence');
    const plain = {
      ...config,
      optimizer: { ...config.optimizer, momentum: 0, weightDecay: 0 },
    };
    const batch = tinyBatch();

    // The expected gradient, part by part from the same starting weights.
    const reference = tinyState(plain);
    const parts = microBatches(batch, 3);
    const prepared = parts.map((part) => prepareStep(reference, part, plain, GROUPS));
    const pMax = Float32Array.from(prepared.flatMap((p) => [...p.pMax]));
    const confidenceLoss = confidenceBalanceLoss(pMax, plain.confidence.threshold);
    expect(confidenceLoss).toBeGreaterThan(0);
    const name = 'layer1.0.conv1.weight';
    const expected = tf.tidy(() => {
      let sum: tf.Tensor | undefined;
      parts.forEach((part, k) => {
        const { grads } = faceGradients(
          reference,
          part,
          { ...prepared[k]!.context, confidenceLoss },
          plain,
          GROUPS,
        );
        const term = tf.mul(grads[name]!, part.images.shape[0] / 8);
        sum = sum ? tf.add(sum, term) : term;
      });
      return sum!;
    });

    const state = tinyState(plain);
    const before = tf.clone(state.face.params[name]!);
    const metrics = trainStep(state, batch, plain, LR, GROUPS, 3);
    expect(metrics.confidenceLoss).toBe(confidenceLoss);
    const applied = tf.tidy(() => tf.div(tf.sub(before, state.face.params[name]!), LR));
    const scale = tf.max(tf.abs(expected)).dataSync()[0]!;
    expect(scale).toBeGreaterThan(0);
    const worst = tf.max(tf.abs(tf.sub(applied, expected))).dataSync()[0]!;
    // Float32 rounding of p − lr·g read back at lr = 1e-3.
    expect(worst / scale).toBeLessThan(2e-3);
  });
});
