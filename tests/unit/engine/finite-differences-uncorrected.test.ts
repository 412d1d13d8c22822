import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { checkCase } from './finite-difference-check.ts';
import { SECOND_ORDER_CASES } from './second-order-cases.ts';

// Proof that the finite-difference check catches the stock tfjs bugs the corrections fix: without
// them, every case marked 'wrong' fails the check, every 'throws' case throws, and the 'right'
// controls still pass (so the check is not simply failing everything). Runs in a process of its own.
describe('stock tfjs 4.22 second-order gradients (corrections off, cpu)', () => {
  for (const c of SECOND_ORDER_CASES) {
    it(`${c.name}: stock is ${c.stock}`, async () => {
      const engine = await loadEngine({ backend: 'cpu', corrections: false });
      expect(engine.corrections).toBeNull();
      if (c.stock === 'throws') {
        expect(() => checkCase(tf, c)).toThrow(/gradient function not found|Cannot compute gradient/);
        return;
      }
      const result = checkCase(tf, c);
      const failures = result.entries.filter((e) => !e.ok).length;
      if (c.stock === 'wrong') expect(failures).toBeGreaterThan(0);
      else expect(failures).toBe(0);
    });
  }
});

describe('stock tfjs 4.22 wasm backend (corrections off)', () => {
  it('cannot train a convolution: Conv2DBackpropFilter is not registered', async () => {
    await loadEngine({ backend: 'wasm', corrections: false });
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const k = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    expect(() => tf.grad((kk: tf.Tensor) => tf.sum(tf.conv2d(x, kk as tf.Tensor4D, 1, 'same')))(k)).toThrow(
      /Conv2DBackpropFilter/,
    );
  });
});
