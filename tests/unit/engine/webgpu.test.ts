/**
 * The webgpu rung, checked on a machine without a GPU: Chromium's SwiftShader Vulkan driver gives
 * Dawn a software adapter, which the ladder refuses unless the rung is forced. Forced, the
 * second-order cases, the GAM golden reference and one GABN training step run on it and are
 * compared with cpu. Analytic gradients are compared, not finite differences: finite differences
 * taken on webgpu are noisy (float32 losses from a different summation order).
 *
 * SwiftShader emulates every shader invocation on the CPU (a 3×3 convolution on [2, 16, 16, 8]
 * takes ~60 ms, against 0.1 ms on wasm), so every shape here is tiny.
 */
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSwiftShaderVulkanDriver } from '../../../main/base/host-programs.ts';
import { chooseBackend } from '../../../main/engine/backends.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { prepareWebGpu } from '../../../main/engine/webgpu.ts';
import { singlePassStep, type TrainState, trainStepAsync } from '../../../main/gabn/step/index.ts';
import {
  FIRST_ORDER_RTOL,
  firstOrderErrors,
  secondOrderErrors,
  worst,
} from '../../golden/second-order-compare.ts';
import { GROUPS, tinyConfig, tinyState } from '../train/train-step-cases.ts';
import { analyticGradients } from './finite-difference-check.ts';
import { SECOND_ORDER_CASES } from './second-order-cases.ts';

// Measured on SwiftShader against cpu (max |webgpu − cpu| over a case's gradient, relative to its
// largest |cpu| entry): worst 3.4e-4 and 5.5e-4 in two runs (SwiftShader's threads sum in varying
// order), for batch norm written from tf.moments (the variance of a few values, then divided by);
// the GAM-style case 1e-5, the others less. 2e-3 leaves a margin of four; the stock errors the
// corrections remove are 10-60% (finite-differences-uncorrected.test.ts).
const CASE_TOLERANCE = 2e-3;
// The GAM golden test against PyTorch holds cpu and wasm to 1e-4 (second-order-compare.ts); webgpu's
// measured worst is 2.3e-6 first order and 9.7e-6 second order, so the same tolerance applies.
const GOLDEN_RTOL = FIRST_ORDER_RTOL;
// One GABN step against cpu, at learning rate 0: the momentum buffers a first step creates are then
// its gradients (plus weight decay), so the comparison sees every gradient of the step. (With a rate,
// the discriminator's update moves L_adv by amounts that depend on which side of a ReLU or max-pool
// tie each value fell: cpu and wasm differ by 1% there.) The network is tiny and so is the batch
// (batch norm over 4 values in the last stage; the GAM's channel maximum picks between near-ties), so
// two correct backends already differ: on this step wasm differs from cpu by 1.5e-4 in the loss (the
// decoupled objective is a difference of terms near 9 and 0.7; each term agrees to 2e-5) and by
// 1.5e-2 in the gradients (relative to the largest of their kind); webgpu by 1.8e-4 and 5.2e-3.
// The tolerances are twice wasm's spread; a lost second-order path or a wrong kernel is O(1).
const METRIC_TOLERANCE = 1e-3;
const TERM_TOLERANCE = 1e-4;
const GRADIENT_TOLERANCE = 3e-2;

// The emulation keeps every core busy: at the lowest priority (inherited by the threads SwiftShader
// starts from here on) it takes what the test files running beside it leave, and does not slow them.
os.setPriority(19);

const driver = findSwiftShaderVulkanDriver();
if (driver.available && !process.env.VK_ICD_FILENAMES) process.env.VK_ICD_FILENAMES = driver.path;
delete process.env.GABN_BACKEND;
const probe = driver.available ? await prepareWebGpu(true, false) : null;
const skipReason = !driver.available
  ? driver.reason
  : probe?.reason
    ? `Dawn has no adapter here: ${probe.reason}`
    : null;
if (skipReason !== null) console.log(`webgpu tests skipped: ${skipReason}`);

/** max |a − b| / max |b|. */
function relativeToLargest(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

describe.skipIf(skipReason !== null)('the webgpu rung on a software adapter', () => {
  it('is refused, with its reason, when the ladder is walked without the force', async () => {
    const choice = await chooseBackend();
    const rung = choice.rungs.find((r) => r.name === 'webgpu')!;
    expect(rung.status).toBe('unavailable');
    expect(rung.reason).toMatch(/refused the software adapter .*swiftshader.*GABN_BACKEND=webgpu/i);
    expect(rung.adapter?.software).toBe(true);
    expect(choice.backend).toBe('wasm');
  });

  it('loads when forced, and reports the adapter and its limits', async () => {
    const engine = await loadEngine({ backend: 'webgpu' });
    expect(tf.getBackend()).toBe('webgpu');
    const rung = engine.choice.rungs.find((r) => r.name === 'webgpu')!;
    expect(rung.status).toBe('active');
    expect(rung.adapter?.architecture).toMatch(/swiftshader/i);
    expect(rung.adapter?.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });

  describe('second-order gradients agree with cpu', () => {
    const reference = new Map<string, Float32Array[]>();
    const measured = new Map<string, number>();
    beforeAll(async () => {
      await loadEngine({ backend: 'cpu' });
      for (const c of SECOND_ORDER_CASES) reference.set(c.name, await analyticGradients(tf, c));
    });
    afterAll(() => {
      const [name, error] = [...measured].reduce((a, b) => (b[1] > a[1] ? b : a), ['', 0]);
      console.log(`webgpu second-order cases against cpu: worst ${error.toExponential(2)} (${name})`);
    });
    for (const c of SECOND_ORDER_CASES) {
      it(c.name, async () => {
        await loadEngine({ backend: 'webgpu' });
        const before = tf.memory().numTensors;
        const got = await analyticGradients(tf, c);
        const want = reference.get(c.name)!;
        expect(got).toHaveLength(want.length);
        const error = Math.max(...got.map((g, k) => relativeToLargest(g, want[k]!)));
        measured.set(c.name, error);
        expect(error).toBeLessThanOrEqual(CASE_TOLERANCE);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  });

  it('the GAM path matches the PyTorch golden reference (first and second order)', async () => {
    await loadEngine({ backend: 'webgpu' });
    const first = await firstOrderErrors('fused', 'gabn');
    const second = await secondOrderErrors('fused', 'gabn');
    console.log(`webgpu gabn path: worst ${worst(first).join(' ')}; ${worst(second).join(' ')}`);
    for (const [k, v] of Object.entries({ ...first, ...second }))
      expect(v, k).toBeLessThanOrEqual(GOLDEN_RTOL);
  });

  it('a GABN step gives the metrics and the gradients of the cpu step', async () => {
    const config = tinyConfig('gabn');
    const batchOn = () => ({
      images: tf.randomNormal([4, 16, 16, 3], 0, 0.6, 'float32', 21) as tf.Tensor4D,
      labels: Int32Array.from([0, 1, 2, 3]),
      groups: Int32Array.from([0, 0, 1, 1]),
    });
    await loadEngine({ backend: 'cpu' });
    const cpuState = tinyState(config);
    const cpu = singlePassStep(cpuState, batchOn(), config, 0, GROUPS);
    const cpuTensors = await everything(cpuState);
    await loadEngine({ backend: 'webgpu' });
    const gpuState = tinyState(config);
    const gpu = await trainStepAsync(gpuState, batchOn(), config, 0, GROUPS);
    const metricErrors = Object.fromEntries(
      (['loss', 'identityLoss', 'adversarialLoss', 'discriminatorLoss'] as const).map((key) => [
        key,
        Math.abs(gpu[key]! - cpu[key]!) / Math.abs(cpu[key]!),
      ]),
    );
    const tensorError = worstByKind(await everything(gpuState), cpuTensors);
    console.log(
      `webgpu step against cpu: ${JSON.stringify(gpu)} / ${JSON.stringify(cpu)}; errors ${JSON.stringify(metricErrors)}; tensors ${tensorError.toExponential(2)}`,
    );
    expect(metricErrors.loss!).toBeLessThan(METRIC_TOLERANCE);
    for (const key of ['identityLoss', 'adversarialLoss', 'discriminatorLoss']) {
      expect(metricErrors[key]!, key).toBeLessThan(TERM_TOLERANCE);
    }
    expect(gpu.discriminatorAccuracy).toBe(cpu.discriminatorAccuracy);
    expect(gpu.confidenceLoss).toBe(cpu.confidenceLoss);
    for (const [k, v] of gpu.groupConfidence.entries()) expect(v).toBeCloseTo(cpu.groupConfidence[k]!, 5);
    expect(tensorError).toBeLessThan(GRADIENT_TOLERANCE);
    // The erasure generator advanced by the same draws.
    expect(gpuState.maskPrng.next()).toBe(cpuState.maskPrng.next());
    // A tiny GABN step takes 20-50 s on SwiftShader at full speed; at the lowest priority, longer.
  }, 400_000);
});

/** Every tensor a step changes, by name, read awaited. */
async function everything(state: TrainState): Promise<Map<string, Float32Array>> {
  const named: [string, tf.Tensor][] = [
    ...Object.entries(state.face.params).map(([k, v]) => [`face.${k}`, v] as [string, tf.Tensor]),
    ...Object.entries(state.head.params).map(([k, v]) => [`head.${k}`, v] as [string, tf.Tensor]),
    ...Object.entries(state.discriminator?.params ?? {}).map(
      ([k, v]) => [`d.${k}`, v] as [string, tf.Tensor],
    ),
    ...[...state.faceOptimizer.buffers].map(([k, v]) => [`momentum.${k}`, v] as [string, tf.Tensor]),
    ...[...(state.discriminatorOptimizer?.buffers ?? [])].map(
      ([k, v]) => [`d-momentum.${k}`, v] as [string, tf.Tensor],
    ),
  ];
  const out = new Map<string, Float32Array>();
  for (const [k, v] of named) out.set(k, ((await v.data()) as Float32Array).slice());
  return out;
}

/** The largest difference relative to the largest value of its kind (weights, momentum, ...). */
function worstByKind(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  const kindOf = (name: string) => name.slice(0, name.indexOf('.'));
  const scales = new Map<string, number>();
  for (const [name, x] of b) {
    const largest = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    scales.set(kindOf(name), Math.max(scales.get(kindOf(name)) ?? 0, largest));
  }
  let result = 0;
  for (const [name, y] of b) {
    const x = a.get(name)!;
    const scale = scales.get(kindOf(name))!;
    y.forEach((v, i) => {
      result = Math.max(result, Math.abs(x[i]! - v) / scale);
    });
  }
  return result;
}
