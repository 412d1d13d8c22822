/**
 * Seconds per training step of the baseline and of GABN on the same configuration and backend, their
 * ratio (the paper reports GABN at about 2.2x the baseline's training time), and the PyTorch
 * reference steps timed in the same run. Also GABN with its phases run apart (what micro-batching
 * does), to show what sharing the passes saves; and the arithmetic of each step, which bounds the ratio
 * from below on a backend whose time follows arithmetic.
 */

import { createPrng } from '../main/base/random.ts';
import { loadEngine, tf } from '../main/engine/index.ts';
import { createSgd } from '../main/gabn/optimizer.ts';
import { resolveTrainingConfig } from '../main/gabn/presets.ts';
import { phasedStep, type TrainBatch, type TrainState, trainStep } from '../main/gabn/step/index.ts';
import type { TrainingConfig } from '../main/gabn/training-config.ts';
import { createDiscriminator, createIResNet, createMarginHead, iresnetSpec } from '../main/models/index.ts';
import { type Arithmetic, countArithmetic } from './arithmetic.ts';
import { formatSeconds, runTorchReference, timeIt } from './timing.ts';

/** Steps timed per measurement: single steps vary by a third from one to the next on this machine. */
const REPEATS = 9;

const SETTING = {
  depth: 18,
  width: 0.25,
  inputSize: 56,
  embeddingSize: 128,
  classes: 64,
  groups: 4,
  discriminatorWidth: 0.125,
  batch: 16,
};

const engine = await loadEngine();
const batch: TrainBatch = {
  images: tf.randomNormal([SETTING.batch, SETTING.inputSize, SETTING.inputSize, 3]) as tf.Tensor4D,
  labels: Int32Array.from({ length: SETTING.batch }, (_, i) => i % SETTING.classes),
  groups: Int32Array.from({ length: SETTING.batch }, (_, i) => i % SETTING.groups),
};
function newState(config: TrainingConfig): TrainState {
  const sgd = { momentum: 0.9, weightDecay: 5e-4 };
  return {
    face: createIResNet(iresnetSpec(SETTING), 1),
    head: createMarginHead(SETTING.embeddingSize, SETTING.classes, 2),
    ...(config.modules.gamCt
      ? {
          discriminator: createDiscriminator(SETTING.groups, { width: SETTING.discriminatorWidth }, 3),
          discriminatorOptimizer: createSgd(sgd),
        }
      : {}),
    faceOptimizer: createSgd(sgd),
    maskPrng: createPrng(4),
  };
}

const configs = {
  baseline: resolveTrainingConfig({
    preset: 'baseline',
    config: 'tiny',
    overrides: ['confidence.threshold=0.3'],
  }),
  gabn: resolveTrainingConfig({ preset: 'gabn', config: 'tiny', overrides: ['confidence.threshold=0.3'] }),
};
const seconds: Record<string, number> = {};
for (const preset of ['baseline', 'gabn'] as const) {
  const config = configs[preset];
  const state = newState(config);
  seconds[preset] = await timeIt(() => void trainStep(state, batch, config, 1e-4, SETTING.groups), REPEATS);
  if (preset === 'gabn') {
    seconds.phased = await timeIt(
      () => void phasedStep(state, batch, config, 1e-4, SETTING.groups, SETTING.batch),
      REPEATS,
    );
  }
}

// The arithmetic of one step of each (bench/arithmetic.ts).
const arithmetic: Record<string, Arithmetic> = {};
for (const preset of ['baseline', 'gabn'] as const) {
  const state = newState(configs[preset]);
  arithmetic[preset] = await countArithmetic(
    () => void trainStep(state, batch, configs[preset], 1e-4, SETTING.groups),
  );
}
const torch = runTorchReference('bench/torch/train_step.py', [JSON.stringify(SETTING), String(REPEATS)]);
console.log(
  `training step, iResNet-18 width 0.25 at 56 px, batch ${SETTING.batch}, ${engine.backend} backend (median of ${REPEATS})`,
);
console.log('step     | GABN Studio | PyTorch CPU | ratio to PyTorch');
for (const name of ['baseline', 'gabn'] as const) {
  const ref = torch.ok ? torch.results[name] : undefined;
  console.log(
    `${name.padEnd(8)} | ${formatSeconds(seconds[name]!).padEnd(11)} | ${(ref === undefined ? 'n/a' : formatSeconds(ref)).padEnd(11)} | ${ref === undefined ? 'n/a' : `${(seconds[name]! / ref).toFixed(1)}x`}`,
  );
}
console.log(
  `GABN / baseline: ${(seconds.gabn! / seconds.baseline!).toFixed(2)}x here${torch.ok ? `, ${(torch.results.gabn! / torch.results.baseline!).toFixed(2)}x in PyTorch` : ''} (the paper: about 2.2x)`,
);
console.log(
  `GABN with its phases apart (as with micro-batches: the GAM computed twice): ${formatSeconds(seconds.phased!)}, ${(seconds.phased! / seconds.baseline!).toFixed(2)}x the baseline`,
);
const gflop = (a: Arithmetic) => (a.convolutionFlops + a.matMulFlops) / 1e9;
console.log(
  `arithmetic per step (convolutions and matrix products): baseline ${gflop(arithmetic.baseline!).toFixed(2)} GFLOP in ${arithmetic.baseline!.convolutions} convolutions, GABN ${gflop(arithmetic.gabn!).toFixed(2)} GFLOP in ${arithmetic.gabn!.convolutions}: ${(gflop(arithmetic.gabn!) / gflop(arithmetic.baseline!)).toFixed(2)}x, the least GABN / baseline ratio where time follows arithmetic`,
);
if (!torch.ok) console.log(`PyTorch reference not measured: ${torch.reason}`);
