import { beforeAll, describe, expect, it } from 'vitest';
import { isGabnError } from '../../../main/base/errors.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import {
  ATTRIBUTION_METHODS,
  type AttributionOptions,
  computeAttribution,
} from '../../../main/gabn/attribution.ts';
import type { AttributionModel } from '../../../main/models/attribution-model.ts';
import { camStages, gam64, linearModel, linearNet, relativeError, sequence } from './gam-networks.ts';

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
});

/** A model that offers everything: a conv stage, an embedding from it, a head. */
function fullModel(): { model: AttributionModel; images: tf.Tensor4D; partners: tf.Tensor4D } {
  const stages = camStages(
    tf.tensor4d(sequence(9 * 3 * 4, 61, 0.6), [3, 3, 3, 4]),
    tf.tensor2d(sequence(4 * 4 * 4 * 5, 62, 0.4), [4 * 4 * 4, 5]),
  );
  return {
    model: {
      embed: (x) => stages.embedFeatures(stages.features(x)),
      head: { weight: tf.tensor2d(sequence(5 * 6, 63, 1), [5, 6]) },
      stages,
    },
    images: tf.tensor4d(sequence(5 * 8 * 8 * 3, 64, 1), [5, 8, 8, 3]),
    partners: tf.tensor4d(sequence(5 * 8 * 8 * 3, 65, 1), [5, 8, 8, 3]),
  };
}

async function expectGabnError(promise: Promise<unknown>, kind: string, words: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isGabnError(error), String(error)).toBe(true);
  expect((error as { kind: string }).kind).toBe(kind);
  expect(String((error as Error).message)).toMatch(words);
}

describe('one signature, one result for GAM, pair GAM and Grad-CAM', () => {
  it('every method returns one max-normalised H·W map per image, and its raw maximum', async () => {
    const { model, images, partners } = fullModel();
    const before = tf.memory().numTensors;
    for (const method of ATTRIBUTION_METHODS) {
      const options: AttributionOptions = method === 'gam' ? {} : { partners };
      const result = await computeAttribution(method, model, images, options);
      expect(result.method).toBe(method);
      expect([result.width, result.height]).toEqual([8, 8]);
      expect(result.maps.length).toBe(5);
      expect(result.rawMax.length).toBe(5);
      for (const [i, map] of result.maps.entries()) {
        expect(map).toBeInstanceOf(Float32Array);
        expect(map.length).toBe(64);
        expect(Math.max(...map)).toBe(1);
        expect(Math.min(...map)).toBeGreaterThanOrEqual(0);
        expect(result.rawMax[i]).toBeGreaterThan(0);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the GAM through computeAttribution is the hand-derived map divided by its maximum', async () => {
    const net = linearNet(67, 3);
    const { embed, head, images } = linearModel(net);
    const result = await computeAttribution('gam', { embed, head }, images, { scale: 8 });
    result.maps.forEach((map, n) => {
      const raw = gam64(net, n, 8);
      const max = Math.max(...raw);
      expect(
        relativeError(
          map,
          raw.map((v) => v / max),
        ),
      ).toBeLessThan(2e-6);
      expect(Math.abs(result.rawMax[n]! - max) / max).toBeLessThan(2e-6);
    });
  });

  it('an empty batch gives no maps', async () => {
    const { model } = fullModel();
    const result = await computeAttribution('gam', model, tf.zeros([0, 8, 8, 3]) as tf.Tensor4D);
    expect(result.maps).toEqual([]);
    expect([result.width, result.height]).toEqual([8, 8]);
  });

  it('micro-batches give the same maps as one pass', async () => {
    const { model, images, partners } = fullModel();
    for (const method of ATTRIBUTION_METHODS) {
      const options: AttributionOptions = method === 'gam' ? {} : { partners };
      const whole = await computeAttribution(method, model, images, options);
      const split = await computeAttribution(method, model, images, { ...options, batchSize: 2 });
      whole.maps.forEach((map, i) => {
        expect(relativeError(split.maps[i]!, map)).toBeLessThan(1e-6);
      });
    }
  });

  it('refuses what a method cannot do, saying what is needed', async () => {
    const { model, images, partners } = fullModel();
    const noHead: AttributionModel = { embed: model.embed, stages: model.stages! };
    await expectGabnError(computeAttribution('gam', noHead, images), 'usage', /identity head/);
    await expectGabnError(computeAttribution('pair-gam', model, images), 'usage', /partner/);
    await expectGabnError(
      computeAttribution('grad-cam', { embed: model.embed, head: model.head! }, images),
      'usage',
      /convolution stage/,
    );
    await expectGabnError(computeAttribution('grad-cam', noHead, images), 'usage', /head or a partner/);
    await expectGabnError(
      computeAttribution('pair-gam', model, images, {
        partners: tf.slice(partners, [0, 0, 0, 0], [2, -1, -1, -1]),
      }),
      'usage',
      /2 partners for 5 images/,
    );
    await expectGabnError(
      computeAttribution('grad-cam', model, images, { targets: [0, 1, 2, 3, 6] }),
      'usage',
      /target identity 6/,
    );
    await expectGabnError(computeAttribution('gam', model, images, { scale: 0 }), 'usage', /scale/);
    await expectGabnError(computeAttribution('gam', model, images, { batchSize: 0 }), 'usage', /batch size/);
    await expectGabnError(
      computeAttribution('nonsense' as 'gam', model, images),
      'usage',
      /unknown attribution method 'nonsense'/,
    );
  });
});
