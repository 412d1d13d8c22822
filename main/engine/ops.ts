/**
 * Ops that must be differentiated twice, written so that autodiff sees every step.
 *
 * tfjs implements some ops with `customGrad`, whose hand-written gradient saves the op's output;
 * that path is invisible to a second backward pass, and no kernel-gradient correction reaches it.
 * On the GABN path use these instead of tf.logSoftmax, tf.losses.softmaxCrossEntropy, tf.logSigmoid
 * and tf.fused.* (tests/unit/engine/double-backprop-guard.test.ts keeps main/ free of them).
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from './tf.ts';

/** log softmax along `axis`: logits - logsumexp(logits), numerically stable, fully differentiable. */
export function logSoftmax(logits: Tensor, axis = -1): Tensor {
  return tf.sub(logits, tf.logSumExp(logits, axis, true));
}

/**
 * Mean cross-entropy of `logits` [N, C] against integer `labels` (length N): -(1/N) Σ log softmax(z)_y.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const classes = logits.shape[logits.rank - 1]!;
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), classes);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logSoftmax(logits, -1)), -1)));
}
