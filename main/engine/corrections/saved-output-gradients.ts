/**
 * Stock tfjs 4.22 gradients that save their own OUTPUT lose every second-order path through that
 * saved tensor, silently (the saved clone's tape node precedes the node that produced it, so the
 * backward pass filters it out). GAM-CT differentiates through a gradient, so each such op on the
 * GABN path is re-registered here to save its INPUT and recompute the output inside the gradient.
 * The first-order values are unchanged; the second-order ones become right.
 */
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import type { tf as TF } from '../tf.ts';

type Tf = typeof TF;

function axesOf(x: Tensor, axis: number | number[]): number[] {
  const list = Array.isArray(axis) ? axis : [axis];
  return list.map((a) => (a < 0 ? a + x.rank : a));
}

/** dy and y reshaped so that they broadcast against x, for reductions without keepDims. */
function keepDimsShape(x: Tensor, axes: number[]): number[] {
  return x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export function savedOutputGradients(tf: Tf): GradConfig[] {
  return [
    {
      kernelName: 'Softmax',
      inputsToSave: ['logits'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
        const [logits] = saved as [Tensor];
        const dim = attrs.dim as number;
        return {
          logits: () => {
            const y = tf.softmax(logits, dim);
            const dyTimesY = tf.mul(dy as Tensor, y);
            return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y));
          },
        };
      },
    },
    {
      kernelName: 'LogSoftmax',
      inputsToSave: ['logits'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
        const [logits] = saved as [Tensor];
        const axis = attrs.axis as number;
        return {
          logits: () =>
            tf.sub(dy as Tensor, tf.mul(tf.sum(dy as Tensor, axis, true), tf.softmax(logits, axis))),
        };
      },
    },
    {
      kernelName: 'Exp',
      inputsToSave: ['x'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [x] = saved as [Tensor];
        return { x: () => tf.mul(dy as Tensor, tf.exp(x)) };
      },
    },
    {
      kernelName: 'Sigmoid',
      inputsToSave: ['x'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [x] = saved as [Tensor];
        return {
          x: () => {
            const y = tf.sigmoid(x);
            return tf.mul(dy as Tensor, tf.mul(y, tf.sub(1, y)));
          },
        };
      },
    },
    {
      kernelName: 'Tanh',
      inputsToSave: ['x'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [x] = saved as [Tensor];
        return { x: () => tf.mul(dy as Tensor, tf.sub(1, tf.square(tf.tanh(x)))) };
      },
    },
    {
      kernelName: 'Elu',
      inputsToSave: ['x'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [x] = saved as [Tensor];
        // d elu / dx = 1 for x > 0, exp(x) otherwise.
        return {
          x: () => tf.mul(dy as Tensor, tf.where(tf.greater(x, 0), tf.onesLike(x), tf.exp(tf.minimum(x, 0)))),
        };
      },
    },
    {
      kernelName: 'Pow',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [base, exponent] = saved as [Tensor, Tensor];
        const outShape = tf.broadcast_util.assertAndGetBroadcastShape(base.shape, exponent.shape);
        const reduceTo = (grad: Tensor, shape: number[]) => {
          const axes = tf.broadcast_util.getReductionAxes(shape, outShape);
          return tf.reshape(axes.length > 0 ? tf.sum(grad, axes) : grad, shape);
        };
        return {
          a: () => {
            const e = tf.cast(exponent, 'float32');
            return reduceTo(tf.mul(dy as Tensor, tf.mul(e, tf.pow(base, tf.sub(e, 1)))), base.shape);
          },
          b: () => {
            const logBase = tf.where(tf.greater(base, 0), tf.log(base), tf.zerosLike(base));
            return reduceTo(tf.mul(dy as Tensor, tf.mul(tf.pow(base, exponent), logBase)), exponent.shape);
          },
        };
      },
    },
    minMaxGradient(tf, 'Max', 'reductionIndices', (x, axes) => tf.max(x, axes, true)),
    minMaxGradient(tf, 'Min', 'axis', (x, axes) => tf.min(x, axes, true)),
  ];
}

/**
 * Max and Min route the gradient to the arg-extremum through an equality mask. The mask is piecewise
 * constant (its own gradient is zero, see comparison-gradients.ts); recomputing the extremum from the
 * input keeps the tape connected.
 */
function minMaxGradient(
  tf: Tf,
  kernelName: 'Max' | 'Min',
  axisAttr: string,
  reduce: (x: Tensor, axes: number[]) => Tensor,
): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved as [Tensor];
      const axes = axesOf(x, attrs[axisAttr] as number | number[]);
      return {
        x: () => {
          const y = reduce(x, axes);
          const dyKept = tf.reshape(dy as Tensor, keepDimsShape(x, axes));
          return tf.mul(dyKept, tf.cast(tf.equal(x, y), 'float32'));
        },
      };
    },
  };
}
