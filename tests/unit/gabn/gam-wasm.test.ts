import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import {
  ATTRIBUTION_METHODS,
  type AttributionResult,
  computeAttribution,
} from '../../../main/gabn/attribution.ts';
import { gradientAttentionMap } from '../../../main/gabn/gam.ts';
import { checkGamWeightGradient } from './gam-double-backprop.ts';
import { camStages, gam64, linearModel, linearNet, relativeError, sequence } from './gam-networks.ts';

// The same GAM checks on the wasm backend, which the app uses where no native backend installs.
beforeAll(async () => {
  const engine = await loadEngine({ backend: 'wasm' });
  expect(engine.backend).toBe('wasm');
});

describe('the GAM on wasm', () => {
  it('equals max_c |∂T/∂x| derived by hand', () => {
    expect(tf.getBackend()).toBe('wasm');
    const net = linearNet(11, 3);
    const maps = tf.tidy(() => {
      const { embed, head, images } = linearModel(net);
      return gradientAttentionMap(embed, head, images, { scale: 8 }).dataSync();
    });
    const pixels = net.height * net.width;
    for (let n = 0; n < net.n; n++) {
      expect(relativeError(maps.subarray(n * pixels, (n + 1) * pixels), gam64(net, n, 8))).toBeLessThan(2e-6);
    }
  });

  it("GAM-CT: the weights' gradient through the normalised GAM matches finite differences (wasm)", () => {
    expect(tf.getBackend()).toBe('wasm');
    const before = tf.memory().numTensors;
    const check = checkGamWeightGradient();
    expect(check.samePiece, 'a finite-difference step left the smooth piece of the base point').toBe(true);
    const bad = check.entries.filter((e) => !e.ok);
    expect(bad, `worst relative error ${check.worstRelativeError.toExponential(2)}`).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('every attribution method gives the same maps on wasm as on cpu', async () => {
    const stages = camStages(
      tf.tensor4d(sequence(9 * 3 * 4, 91, 0.6), [3, 3, 3, 4]),
      tf.tensor2d(sequence(4 * 4 * 4 * 5, 92, 0.4), [4 * 4 * 4, 5]),
    );
    const model = {
      embed: (x: tf.Tensor4D) => stages.embedFeatures(stages.features(x)),
      head: { weight: tf.tensor2d(sequence(5 * 6, 93, 1), [5, 6]) },
      stages,
    };
    const images = tf.tensor4d(sequence(3 * 8 * 8 * 3, 94, 1), [3, 8, 8, 3]);
    const partners = tf.tensor4d(sequence(3 * 8 * 8 * 3, 95, 1), [3, 8, 8, 3]);
    const run = async (): Promise<AttributionResult[]> => {
      const out: AttributionResult[] = [];
      for (const method of ATTRIBUTION_METHODS) {
        out.push(
          await computeAttribution(method, model, images, method === 'gam' ? { scale: 4 } : { partners }),
        );
      }
      return out;
    };
    expect(tf.getBackend()).toBe('wasm');
    const onWasm = await run();
    await loadEngine({ backend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    const onCpu = await run();
    onWasm.forEach((result, m) => {
      result.maps.forEach((map, i) => {
        expect(relativeError(map, onCpu[m]!.maps[i]!)).toBeLessThan(1e-5);
      });
    });
  });
});
