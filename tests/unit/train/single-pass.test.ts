/**
 * The single-pass step shares the forward pass and the GAM between P_max, the erasure, the
 * discriminator and L_adv. It must train exactly what the phased step trains: the same metrics, the
 * same weights, running estimates, momentum and discriminator after a step, and the same erasure draws.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { phasedStep, singlePassStep, type TrainState } from '../../../main/gabn/step/index.ts';
import { GROUPS, PRESET_NAMES, tinyBatch, tinyConfig, tinyState } from './train-step-cases.ts';

const LR = 1e-3;

/** Every tensor a step changes, by name. */
function everything(state: TrainState): Map<string, Float32Array> {
  const tensors: [string, tf.Tensor][] = [
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
  return new Map(tensors.map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

/**
 * The largest difference between the two states, relative to the largest value of its kind (weights,
 * momentum, ...). Relative to a whole kind, not to each tensor: a bias followed by batch norm has a
 * zero gradient in exact arithmetic, so its momentum holds rounding noise (1e-7) that a different
 * summation order changes completely.
 */
function worstRelativeDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  const kindOf = (name: string) => name.slice(0, name.indexOf('.'));
  const scales = new Map<string, number>();
  for (const [name, x] of a) {
    const largest = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    scales.set(kindOf(name), Math.max(scales.get(kindOf(name)) ?? 0, largest));
  }
  let worst = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    const scale = scales.get(kindOf(name))!;
    x.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - y[i]!) / scale);
    });
  }
  return worst;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`the single-pass step on ${backend}`, () => {
    for (const preset of PRESET_NAMES) {
      it(`${preset}: trains what the phased step trains`, async () => {
        await loadEngine({ backend });
        const config = tinyConfig(preset);
        const shared = tinyState(config);
        const phased = tinyState(config);
        const batch = tinyBatch();
        const before = tf.memory().numTensors;
        const a = singlePassStep(shared, batch, config, LR, GROUPS);
        expect(tf.memory().numTensors - before).toBe(
          // momentum buffers are created by the first step
          shared.faceOptimizer.buffers.size + (shared.discriminatorOptimizer?.buffers.size ?? 0),
        );
        const b = phasedStep(phased, batch, config, LR, GROUPS, 0);
        expect(a.loss).toBeCloseTo(b.loss, 5);
        expect(a.identityLoss).toBeCloseTo(b.identityLoss, 5);
        expect(a.confidenceLoss).toBe(b.confidenceLoss);
        for (const [k, v] of a.groupConfidence.entries()) expect(v).toBeCloseTo(b.groupConfidence[k]!, 6);
        for (const key of ['adversarialLoss', 'discriminatorLoss', 'discriminatorAccuracy'] as const) {
          if (b[key] === null) expect(a[key]).toBeNull();
          else expect(a[key]).toBeCloseTo(b[key]!, 5);
        }
        expect(worstRelativeDifference(everything(shared), everything(phased))).toBeLessThan(1e-5);
        // The erasure generator advanced by the same draws.
        expect(shared.maskPrng.next()).toBe(phased.maskPrng.next());
      });
    }
  });
}

describe('a single-pass step that meets a non-finite value', () => {
  it('changes nothing and leaves no tensor behind', async () => {
    await loadEngine({ backend: 'wasm' });
    for (const preset of ['gabn', 'gam-ct'] as const) {
      const config = tinyConfig(preset);
      const state = tinyState(config);
      const batch = { ...tinyBatch(), images: tf.fill([8, 16, 16, 3], Number.NaN) as tf.Tensor4D };
      const before = everything(state);
      const tensors = tf.memory().numTensors;
      expect(() => singlePassStep(state, batch, config, LR, GROUPS)).toThrow(/not finite/);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(worstRelativeDifference(everything(state), before)).toBe(0);
    }
  });
});
