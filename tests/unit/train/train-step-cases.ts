/** A tiny fixed batch and fresh training states, shared by the train-step tests of each backend. */

import { createPrng } from '../../../main/base/random.ts';
import { tf } from '../../../main/engine/tf.ts';
import { createSgd } from '../../../main/gabn/optimizer.ts';
import { resolveTrainingConfig } from '../../../main/gabn/presets.ts';
import type { TrainBatch, TrainState } from '../../../main/gabn/step/index.ts';
import type { TrainingConfig } from '../../../main/gabn/training-config.ts';
import {
  createDiscriminator,
  createIResNet,
  createMarginHead,
  iresnetSpec,
} from '../../../main/models/index.ts';

export const PRESET_NAMES = ['baseline', 'random-erase', 'confidence', 'gam-ct', 'gam-sfre', 'gabn'] as const;
export const GROUPS = 2;

export function tinyConfig(preset: string, objective: 'paper' | 'decoupled' = 'decoupled'): TrainingConfig {
  return resolveTrainingConfig({
    preset,
    config: 'tiny',
    overrides: [
      `objective=${objective}`,
      'margin.s=16',
      'gamScale=16',
      'erase.maxHeight=4',
      'erase.maxWidth=4',
      // a threshold the untrained network reaches for some samples, so L_conf is not zero
      'confidence.threshold=0.3',
    ],
  });
}

export function tinyState(config: TrainingConfig): TrainState {
  const face = createIResNet(iresnetSpec({ depth: 18, width: 0.125, inputSize: 16, embeddingSize: 16 }), 5);
  const sgd = { momentum: config.optimizer.momentum, weightDecay: config.optimizer.weightDecay };
  return {
    face,
    head: createMarginHead(16, 4, 6),
    ...(config.modules.gamCt
      ? {
          discriminator: createDiscriminator(GROUPS, { width: 0.125 }, 7),
          discriminatorOptimizer: createSgd({
            momentum: config.discriminator.momentum,
            weightDecay: config.discriminator.weightDecay,
          }),
        }
      : {}),
    faceOptimizer: createSgd(sgd),
    maskPrng: createPrng(9),
  };
}

export function tinyBatch(): TrainBatch {
  return {
    images: tf.randomNormal([8, 16, 16, 3], 0, 0.6, 'float32', 21) as tf.Tensor4D,
    labels: Int32Array.from([0, 0, 1, 1, 2, 2, 3, 3]),
    groups: Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]),
  };
}

export function snapshot(params: Record<string, tf.Variable>): Map<string, Float32Array> {
  return new Map(Object.entries(params).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

export function changed(before: Map<string, Float32Array>, params: Record<string, tf.Variable>): boolean {
  return Object.entries(params).some(([k, v]) => {
    const now = v.dataSync();
    const then = before.get(k)!;
    return now.some((x, i) => x !== then[i]);
  });
}
