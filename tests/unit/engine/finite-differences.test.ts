import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { checkCase } from './finite-difference-check.ts';
import { SECOND_ORDER_CASES } from './second-order-cases.ts';

// d/dθ of a function of d/dx, for every op on the GABN path, against finite differences, on both
// backends this machine can run. Native backends are covered where they install (same corrections).
for (const backend of ['cpu', 'wasm'] as const) {
  describe(`second-order gradients on ${backend} (corrections installed)`, () => {
    for (const c of SECOND_ORDER_CASES) {
      it(c.name, async () => {
        const engine = await loadEngine({ backend });
        expect(engine.backend).toBe(backend);
        expect(tf.getBackend()).toBe(backend);
        const before = tf.memory().numTensors;
        const result = checkCase(tf, c);
        const bad = result.entries.filter((e) => !e.ok);
        expect(bad, `worst relative error ${result.worstRelativeError.toExponential(2)}`).toEqual([]);
        // The composite wasm kernels hand their outputs to the engine: no tensor may leak.
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  });
}
