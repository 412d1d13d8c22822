/**
 * Proof that the golden second-order test catches stock tfjs 4.22: with the gradient corrections off,
 * the first-order comparison still passes (a control: the test is not failing everything), and the
 * double-backprop comparison either throws or misses the reference by more than ten times its
 * tolerance. Runs in a process of its own (tfjs registries are process-wide).
 */
import { describe, expect, it } from 'vitest';
import { comparisonGradients } from '../../main/engine/corrections/comparison-gradients.ts';
import { loadEngine, tf } from '../../main/engine/index.ts';
import {
  FIRST_ORDER_RTOL,
  firstOrderErrors,
  SECOND_ORDER_RTOL,
  secondOrderErrors,
  worst,
} from './second-order-compare.ts';

describe('stock tfjs 4.22 against the golden second-order reference (corrections off, cpu)', () => {
  for (const variant of ['formula', 'fused'] as const) {
    it(`batch norm ${variant}: first order still matches`, async () => {
      const engine = await loadEngine({ backend: 'cpu', corrections: false });
      expect(engine.corrections).toBeNull();
      const errors = await firstOrderErrors(variant);
      for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThanOrEqual(FIRST_ORDER_RTOL);
    });
    it(`batch norm ${variant}: double backprop throws or is far off`, async () => {
      const engine = await loadEngine({ backend: 'cpu', corrections: false });
      expect(engine.corrections).toBeNull();
      let outcome: string;
      try {
        const errors = await secondOrderErrors(variant);
        const [name, error] = worst(errors);
        outcome = `worst ${name}: ${error.toExponential(2)}`;
        expect(error, outcome).toBeGreaterThan(10 * SECOND_ORDER_RTOL);
      } catch (e) {
        if (!(e instanceof Error) || e.name === 'AssertionError') throw e;
        outcome = `throws: ${e.message}`;
        expect(e.message).toMatch(/gradient function not found|Cannot compute gradient/);
      }
      console.log(`stock ${variant}: ${outcome}`);
    });
  }
});

// Stock tfjs throws first at PReLU's Greater. Giving it only the zero gradients of the comparison ops
// gets past that and shows the worse failure behind it: Softmax, Max and Exp gradients that save
// their own output lose their second-order path without any error. Runs last in this process: it
// changes the process-wide gradient registry.
describe('stock tfjs 4.22 with only the comparison-op gradients added (cpu)', () => {
  for (const variant of ['formula', 'fused'] as const) {
    it(`batch norm ${variant}: double backprop runs and is silently wrong`, async () => {
      const engine = await loadEngine({ backend: 'cpu', corrections: false });
      expect(engine.corrections).toBeNull();
      for (const config of comparisonGradients(tf)) tf.registerGradient(config);
      const errors = await secondOrderErrors(variant);
      const [name, error] = worst(errors, (k) => k.startsWith('dLadv/d'));
      console.log(`stock + comparison gradients, ${variant}: worst ${name} ${error.toExponential(2)}`);
      expect(error, name).toBeGreaterThan(10 * SECOND_ORDER_RTOL);
      // The forward values are unaffected: only the gradients are wrong.
      expect(errors.T!).toBeLessThanOrEqual(FIRST_ORDER_RTOL);
    });
  }
});
