/**
 * Gradients stock tfjs lacks or makes impractical at second order.
 *
 * - Conv2DBackpropFilter has no gradient. It appears on the tape when the GAM (a gradient with
 *   respect to the image) is taken in the same pass as weight gradients. The op is bilinear in its
 *   two inputs: dW = BF(x, dy) is the weight gradient of <dy, conv(x, W)>, so for an upstream G of
 *   W's shape, d<G, BF>/dx = conv2dBackpropInput(dy, G) and d<G, BF>/ddy = conv2d(x, G).
 * - Tile's stock gradient adds one slice per repetition. FusedBatchNorm's gradient tiles 1/sqrt(var)
 *   to [N, H, W, 1], so at second order that is N*H*W slices (each a full copy on wasm). Reshaping dy
 *   to [r0, x0, r1, x1, ...] and summing the repetition axes is the same sum in one op.
 * - FusedBatchNorm's stock gradient materialises that tile at first order too: every batch-norm
 *   layer of every backward pass builds an [N, H, W, C] copy of 1/sqrt(var) with the Tile kernel,
 *   which on wasm took a third of a training step's kernel time. Broadcasting the
 *   per-channel factor instead gives the same input gradient bit for bit (the same products in the
 *   same order); the statistics' and parameters' gradients sum first and apply the per-channel
 *   factors after (equal up to rounding, and one pass over the tensor fewer).
 */
import type { GradConfig, NamedAttrMap, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import type { tf as TF } from '../tf.ts';

type Tf = typeof TF;
type Pad = 'valid' | 'same' | number;

export function structuralGradients(tf: Tf): GradConfig[] {
  const conv2dBackpropFilter: GradConfig = {
    kernelName: 'Conv2DBackpropFilter',
    inputsToSave: ['x', 'dy'],
    gradFunc: (upstream: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x, dy] = saved as [Tensor4D, Tensor4D];
      const g = upstream as Tensor4D;
      const strides = attrs.strides as [number, number] | number;
      const pad = attrs.pad as Pad;
      const dimRoundingMode = attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
      return {
        x: () => tf.conv2dTranspose(dy, g, x.shape, strides, pad, dimRoundingMode),
        dy: () => tf.conv2d(x, g, strides, pad, 'NHWC', 1, dimRoundingMode),
      };
    },
  };
  const tile: GradConfig = {
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved as [Tensor];
      const reps = attrs.reps as number[];
      return {
        x: () => {
          const interleaved: number[] = [];
          const repAxes: number[] = [];
          x.shape.forEach((size, i) => {
            interleaved.push(reps[i]!, size);
            repAxes.push(2 * i);
          });
          return tf.reshape(tf.sum(tf.reshape(dy as Tensor, interleaved), repAxes), x.shape);
        },
      };
    },
  };
  const fusedBatchNorm: GradConfig = {
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
      const upstream = dy as Tensor;
      const epsilon = attrs.varianceEpsilon as number;
      const gamma: Tensor | number = scale ?? 1;
      const axes = broadcastAxes(mean.shape, x.shape);
      // Sums over the axes the statistics were broadcast along, back to their shape.
      const perChannel = (t: Tensor) => tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, mean.shape);
      const inverseStd = tf.rsqrt(tf.add(variance, epsilon));
      const centred = tf.sub(x, mean);
      return {
        x: () => tf.mul(tf.mul(upstream, inverseStd), gamma),
        mean: () => tf.mul(tf.mul(perChannel(upstream), inverseStd), tf.mul(gamma, -1)),
        variance: () =>
          tf.mul(
            tf.mul(
              perChannel(tf.mul(upstream, centred)),
              tf.mul(tf.mul(tf.square(inverseStd), inverseStd), -0.5),
            ),
            gamma,
          ),
        scale: () => perChannel(tf.mul(upstream, tf.mul(centred, inverseStd))),
        offset: () => perChannel(upstream),
      };
    },
  };
  return [conv2dBackpropFilter, tile, fusedBatchNorm];
}

/** The axes of `full` along which a tensor of shape `part` is broadcast (NumPy rules, aligned right). */
function broadcastAxes(part: readonly number[], full: readonly number[]): number[] {
  const offset = full.length - part.length;
  const axes: number[] = [];
  full.forEach((size, i) => {
    if (i < offset || (part[i - offset] === 1 && size !== 1)) axes.push(i);
  });
  return axes;
}
