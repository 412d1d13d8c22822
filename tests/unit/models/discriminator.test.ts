import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { discriminatorLayout } from '../../../main/models/discriminator.ts';
import {
  createDiscriminator,
  discriminatorForward,
  discriminatorParameterCount,
  discriminatorSpec,
  disposeParams,
} from '../../../main/models/index.ts';

describe('GAM discriminator (ResNet-18, 1 input channel)', () => {
  it('has torchvision names, a 1-channel 7×7 stem and an fc to the groups', () => {
    const layout = discriminatorLayout(discriminatorSpec(4, 1));
    const shape = (n: string) => layout.find((t) => t.name === n)?.shape;
    expect(shape('conv1.weight')).toEqual([7, 7, 1, 64]);
    expect(shape('layer1.0.downsample.0.weight')).toBeUndefined();
    expect(shape('layer2.0.downsample.0.weight')).toEqual([1, 1, 64, 128]);
    expect(shape('layer4.1.conv2.weight')).toEqual([3, 3, 512, 512]);
    expect(shape('fc.weight')).toEqual([512, 4]);
    expect(shape('fc.bias')).toEqual([4]);
    // torchvision resnet18: 11,689,512 with 3 channels and 1000 classes; here 1 channel and 4 groups.
    expect(discriminatorParameterCount(discriminatorSpec(4, 1))).toBe(
      11_689_512 - 2 * 64 * 49 - 513_000 + 512 * 4 + 4,
    );
    expect(() => discriminatorSpec(1, 1)).toThrow(GabnError);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`with the engine loaded on ${backend}: logits per group, and first-order gradients for the GAM and the weights`, async () => {
      await loadEngine({ backend });
      const d = createDiscriminator(4, { width: 0.125 }, 6);
      const gam = tf.randomUniform([3, 56, 56], 0, 1, 'float32', 2);
      const logits = discriminatorForward(d, gam);
      expect(logits.shape).toEqual([3, 4]);
      const same = discriminatorForward(d, tf.expandDims(gam, 3));
      expect(Array.from(same.dataSync())).toEqual(Array.from(logits.dataSync()));
      const labels = tf.cast(tf.oneHot(tf.tensor1d([0, 2, 3], 'int32'), 4), 'float32');
      // Cross-entropy of the group logits (the discriminator's loss, Eq. 3).
      const lossOf = (g: tf.Tensor) => {
        const z = discriminatorForward(d, g, { training: true, updateStats: false });
        return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.sub(z, tf.logSumExp(z, 1, true))), 1))) as tf.Scalar;
      };
      const dGam = tf.grad(lossOf)(gam);
      expect(dGam.shape).toEqual([3, 56, 56]);
      expect(dGam.dataSync().every(Number.isFinite)).toBe(true);
      expect(Math.max(...dGam.dataSync().map(Math.abs))).toBeGreaterThan(0);
      // Central difference of the loss along the gradient direction matches |grad|².
      const u = tf.div(dGam, tf.norm(dGam));
      // Small enough that few ReLU and max-pool switches lie within ±h (each bends the difference).
      const h = 1e-3;
      const numeric =
        (lossOf(tf.add(gam, tf.mul(u, h))).dataSync()[0]! -
          lossOf(tf.sub(gam, tf.mul(u, h))).dataSync()[0]!) /
        (2 * h);
      const analytic = tf.sum(tf.mul(dGam, u)).dataSync()[0]!;
      expect(Math.abs(numeric - analytic)).toBeLessThan(0.05 * Math.abs(analytic) + 1e-4);
      const { grads } = tf.variableGrads(
        () => lossOf(gam),
        Object.values(d.params).filter((v) => v.trainable),
      );
      expect(Object.values(grads).every((g) => g.dataSync().every(Number.isFinite))).toBe(true);
      disposeParams(d.params);
    });
  }
});
