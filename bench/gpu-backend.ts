/**
 * One backend of `npm run bench:gpu` (bench/gpu.ts), in a process of its own: argv = backend,
 * configuration (JSON), repeats, and `software` to accept a software adapter. Times the GAM per image
 * (the attribution path the app uses), the baseline and GABN training steps (the path the trainer
 * takes on this backend), and the embedding throughput of an audit (eval forward, values read back).
 * Prints one JSON line: the figures, or why the backend cannot run here.
 */
import { createPrng } from '../main/base/random.ts';
import { type BackendName, loadEngine, parseBackendName, tf } from '../main/engine/index.ts';
import { probeRung } from '../main/engine/probe.ts';
import { describeAdapter } from '../main/engine/webgpu.ts';
import { computeAttribution } from '../main/gabn/attribution.ts';
import { createSgd } from '../main/gabn/optimizer.ts';
import { resolveTrainingConfig } from '../main/gabn/presets.ts';
import { type TrainBatch, type TrainState, trainStepAsync } from '../main/gabn/step/index.ts';
import type { TrainingConfig } from '../main/gabn/training-config.ts';
import {
  createDiscriminator,
  createIResNet,
  createMarginHead,
  forward,
  iresnetSpec,
} from '../main/models/index.ts';
import type { GpuBenchConfig } from './gpu-config.ts';
import { timeIt } from './timing.ts';

const [name, json, repeatsArg, mode] = process.argv.slice(2);
const backend: BackendName = parseBackendName(name ?? '', 'the benchmark');
const c = JSON.parse(json ?? '{}') as GpuBenchConfig;
const repeats = Number(repeatsArg ?? 3);

async function refusal(): Promise<string | null> {
  if (backend !== 'webgpu' || mode === 'software') return null;
  const rung = await probeRung('webgpu');
  return rung.status === 'available' ? null : rung.reason;
}

async function measure(): Promise<Record<string, number | string>> {
  const engine = await loadEngine({ backend });
  const rung = engine.choice.rungs.find((r) => r.name === backend);
  const face = createIResNet(iresnetSpec(c), 1);
  const head = createMarginHead(c.embeddingSize, c.classes, 2);

  const model = {
    embed: (x: tf.Tensor4D) => forward(face, x, { training: false }),
    head: { weight: head.params.weight as tf.Tensor2D },
  };
  const gamImages = tf.randomNormal([c.gamBatch, c.inputSize, c.inputSize, 3]) as tf.Tensor4D;
  const gam = await timeIt(async () => void (await computeAttribution('gam', model, gamImages)), repeats);

  const embedImages = tf.randomNormal([c.embedBatch, c.inputSize, c.inputSize, 3]) as tf.Tensor4D;
  const embed = await timeIt(async () => {
    const e = tf.tidy(() => model.embed(embedImages));
    await e.data();
    e.dispose();
  }, repeats);

  const batch: TrainBatch = {
    images: tf.randomNormal([c.batch, c.inputSize, c.inputSize, 3]) as tf.Tensor4D,
    labels: Int32Array.from({ length: c.batch }, (_, i) => i % c.classes),
    groups: Int32Array.from({ length: c.batch }, (_, i) => i % c.groups),
  };
  const steps: Record<string, number> = {};
  for (const preset of ['baseline', 'gabn'] as const) {
    const config = resolveTrainingConfig({ preset, config: 'tiny', overrides: ['confidence.threshold=0.3'] });
    // A network of its own per preset: each optimiser names its momentum after the parameters.
    const state = trainState(
      config,
      createIResNet(iresnetSpec(c), 1),
      createMarginHead(c.embeddingSize, c.classes, 2),
    );
    steps[preset] = await timeIt(
      async () => void (await trainStepAsync(state, batch, config, 1e-4, c.groups)),
      repeats,
    );
  }
  return {
    backend: engine.backend,
    ...(rung?.adapter ? { adapter: describeAdapter(rung.adapter) } : {}),
    gamPerImage: gam / c.gamBatch,
    ...steps,
    imagesPerSecond: c.embedBatch / embed,
  };
}

function trainState(config: TrainingConfig, face: TrainState['face'], head: TrainState['head']): TrainState {
  const sgd = { momentum: 0.9, weightDecay: 5e-4 };
  return {
    face,
    head,
    ...(config.modules.gamCt
      ? {
          discriminator: createDiscriminator(c.groups, { width: c.discriminatorWidth }, 3),
          discriminatorOptimizer: createSgd(sgd),
        }
      : {}),
    faceOptimizer: createSgd(sgd),
    maskPrng: createPrng(4),
  };
}

const refused = await refusal();
try {
  console.log(JSON.stringify(refused === null ? await measure() : { error: refused }));
} catch (error) {
  console.log(
    JSON.stringify({ error: error instanceof Error ? error.message.split('\n')[0] : String(error) }),
  );
}
