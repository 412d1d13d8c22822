/**
 * Batch normalisation with PyTorch's semantics, on plain tfjs ops whose gradients the engine
 * corrects (moments, batchNorm): training mode normalises with the batch statistics (biased
 * variance) and moves the running estimates by momentum 0.1 using the unbiased variance; eval mode
 * uses the running estimates.
 */

import { GabnError } from '../base/errors.ts';
import { tf } from '../engine/tf.ts';
import type { ParamMap } from './parameters.ts';

export const BN_EPSILON = 1e-5;
export const BN_MOMENTUM = 0.1;

export interface NormOptions {
  /** Batch statistics (true) or running statistics (false). */
  readonly training: boolean;
  /**
   * Move the running estimates (default: when training). A step that runs the network twice on the
   * same batch (the GAM pass, then the loss pass) updates them once.
   */
  readonly updateStats?: boolean;
}

/** BatchNorm2d on NHWC (statistics over N, H, W) or BatchNorm1d on [N, C], with the tensors at `prefix`. */
export function batchNorm(params: ParamMap, prefix: string, x: tf.Tensor, options: NormOptions): tf.Tensor {
  const gamma = params[`${prefix}.weight`] as tf.Tensor1D;
  const beta = params[`${prefix}.bias`] as tf.Tensor1D;
  const runningMean = params[`${prefix}.running_mean`]!;
  const runningVar = params[`${prefix}.running_var`]!;
  if (!options.training) return tf.batchNorm(x, runningMean, runningVar, beta, gamma, BN_EPSILON);
  const channels = x.shape[x.rank - 1]!;
  const count = x.size / channels;
  if (count < 2) {
    throw new GabnError(
      'usage',
      `batch norm '${prefix}' needs more than one value per channel in training mode`,
      {
        expected: 'a training batch of at least 2 images',
      },
    );
  }
  const axes = x.rank === 4 ? [0, 1, 2] : [0];
  const { mean, variance } = tf.moments(x, axes);
  if (options.updateStats ?? true) {
    tf.tidy(() => {
      runningMean.assign(tf.add(tf.mul(runningMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
      // PyTorch keeps the unbiased estimate: n/(n-1) times the variance it normalises with.
      const unbiased = tf.mul(variance, count / (count - 1));
      runningVar.assign(tf.add(tf.mul(runningVar, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
    });
  }
  return tf.batchNorm(x, mean, variance, beta, gamma, BN_EPSILON);
}
