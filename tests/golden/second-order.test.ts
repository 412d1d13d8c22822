/**
 * GAM consistency training's double backprop against the float64 PyTorch reference
 * (tests/golden/second_order.py → fixtures/second_order.json), on the cpu and wasm backends, with
 * batch norm both as a written-out formula on tf.moments and through tf.batchNorm.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../main/engine/index.ts';
import {
  type Errors,
  FIRST_ORDER_RTOL,
  firstOrderErrors,
  SECOND_ORDER_RTOL,
  secondOrderErrors,
  worst,
} from './second-order-compare.ts';

// Tolerances and why: tests/golden/second-order-compare.ts.

const show = ([name, error]: [string, number]) => `${name} ${error.toExponential(2)}`;

function checkFirstOrder(errors: Errors): void {
  for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThanOrEqual(FIRST_ORDER_RTOL);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`golden second-order gradients on ${backend}`, () => {
    for (const variant of ['formula', 'fused'] as const) {
      it(`batch norm ${variant}: forward, T, ∂T/∂x, GAM and first-order ∂T/∂θ`, async () => {
        await loadEngine({ backend });
        expect(tf.getBackend()).toBe(backend);
        const errors = await firstOrderErrors(variant);
        console.log(`${backend} ${variant} first order: worst ${show(worst(errors))}`);
        checkFirstOrder(errors);
      });
      it(`batch norm ${variant}: L_adv and ∂L_adv/∂θ for every weight through ∂T/∂x`, async () => {
        await loadEngine({ backend });
        expect(tf.getBackend()).toBe(backend);
        const before = tf.memory().numTensors;
        const errors = await secondOrderErrors(variant);
        console.log(`${backend} ${variant} second order: worst ${show(worst(errors))}`);
        for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThanOrEqual(SECOND_ORDER_RTOL);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
    it('the project GAM path (main/gabn gamObjective, channelMaxAbs, normaliseMaps, adversarialLoss)', async () => {
      await loadEngine({ backend });
      const first = await firstOrderErrors('fused', 'gabn');
      const second = await secondOrderErrors('fused', 'gabn');
      console.log(`${backend} gabn path: worst ${show(worst(first))}; ${show(worst(second))}`);
      checkFirstOrder(first);
      for (const [k, v] of Object.entries(second)) expect(v, k).toBeLessThanOrEqual(SECOND_ORDER_RTOL);
    });
  });
}
