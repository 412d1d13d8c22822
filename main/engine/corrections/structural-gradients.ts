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
  return [conv2dBackpropFilter, tile];
}
