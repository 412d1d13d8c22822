/**
 * The benchmark's arithmetic count: each convolution kernel of a forward and backward pass counted
 * at the forward pass's multiply-adds, strided or not; matrix products at 2·M·N·K, transposed or not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { countArithmetic } from '../../../bench/arithmetic.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
});

describe('countArithmetic', () => {
  for (const stride of [1, 2]) {
    it(`counts a stride-${stride} convolution and both its gradients at the forward pass's cost`, async () => {
      const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
      const forward = await countArithmetic(() => void tf.conv2d(x, w, stride, 'same'));
      const out = 2 * (8 / stride) * (8 / stride) * 4;
      expect(forward).toEqual({ convolutionFlops: 2 * out * 3 * 3 * 3, matMulFlops: 0, convolutions: 1 });
      const both = await countArithmetic(() => {
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same')),
        )([x, w]);
      });
      expect(both.convolutions).toBe(3);
      expect(both.convolutionFlops).toBe(3 * forward.convolutionFlops);
    });
  }

  it('counts matrix products, transposed or not', async () => {
    const a = tf.randomNormal([5, 3]) as tf.Tensor2D;
    const b = tf.randomNormal([3, 7]) as tf.Tensor2D;
    const plain = await countArithmetic(() => void tf.matMul(a, b));
    expect(plain.matMulFlops).toBe(2 * 5 * 7 * 3);
    const transposed = await countArithmetic(() => void tf.matMul(tf.transpose(a), b, true, false));
    expect(transposed.matMulFlops).toBe(2 * 5 * 7 * 3);
    const both = await countArithmetic(() => void tf.matMul(a, tf.transpose(b), false, true));
    expect(both.matMulFlops).toBe(2 * 5 * 7 * 3);
  });

  it("counts the wasm backend's convolution gradients once, not the convolutions inside them", async () => {
    const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
    const step = () => {
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')),
      )([x, w]);
    };
    const onCpu = await countArithmetic(step);
    await loadEngine({ backend: 'wasm' });
    const profile = await tf.profile(step);
    // The gradients are built from convolutions on wasm (the strided input gradient from four, one
    // per phase): the profile lists eight, three of them the step's own.
    expect(profile.kernels.filter((k) => k.name.startsWith('Conv2D'))).toHaveLength(8);
    expect(await countArithmetic(step)).toEqual(onCpu);
    await loadEngine({ backend: 'cpu' });
  });
});
