/**
 * Comparison kernels produce boolean masks (PReLU's gradient uses x > 0, Max's uses x == max). Their
 * true gradient is zero almost everywhere, but stock tfjs registers none, so the second backward pass
 * of double backprop throws "gradient function not found for Greater". Register the zero gradient.
 * Fill has no tensor inputs; it only needs an entry so the tape can walk past it.
 */
import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import type { tf as TF } from '../tf.ts';

const BINARY_COMPARISONS = [
  'Greater',
  'GreaterEqual',
  'Less',
  'LessEqual',
  'Equal',
  'NotEqual',
  'LogicalAnd',
  'LogicalOr',
];

export function comparisonGradients(tf: typeof TF): GradConfig[] {
  const binary = BINARY_COMPARISONS.map(
    (kernelName): GradConfig => ({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [a, b] = saved as [Tensor, Tensor];
        return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
      },
    }),
  );
  const logicalNot: GradConfig = {
    kernelName: 'LogicalNot',
    inputsToSave: ['x'],
    gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [x] = saved as [Tensor];
      return { x: () => tf.zerosLike(x) };
    },
  };
  const fill: GradConfig = { kernelName: 'Fill', gradFunc: () => ({}) };
  return [...binary, logicalNot, fill];
}
