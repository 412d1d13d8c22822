/**
 * GPU memory: the micro-batch a step takes on a GPU is chosen from the adapter's buffer limits and
 * the largest tensor one image brings into the step. That size is checked against a profile of a
 * real step: the largest output of any kernel it runs.
 */
import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { fitMicroBatch, largestTensorPerImage, phasedStep } from '../../../main/gabn/step/index.ts';
import { createIResNet, createMarginHead, iresnetSpec } from '../../../main/models/index.ts';
import { GROUPS, tinyBatch, tinyConfig, tinyState } from './train-step-cases.ts';

const MiB = 2 ** 20;

describe('the largest tensor of a step', () => {
  it('is what one image brings times the batch, as a profile of a GABN step shows', async () => {
    await loadEngine({ backend: 'cpu' });
    const config = tinyConfig('gabn');
    const state = tinyState(config);
    const batch = tinyBatch();
    const n = batch.images.shape[0];
    const profile = await tf.profile(() => {
      phasedStep(state, batch, config, 1e-4, GROUPS, 0);
      return tf.scalar(0);
    });
    // The tensors that grow with the batch: those whose first axis is the batch.
    const perBatch = profile.kernels.flatMap((k) => k.outputShapes.filter((shape) => shape[0] === n));
    const largest = Math.max(...perBatch.map((shape) => shape.reduce((a, b) => a * b, 1)));
    expect(4 * largest).toBe(n * largestTensorPerImage(state));
  });
});

describe('the micro-batch on a GPU', () => {
  const config = tinyConfig('gabn');
  const state = tinyState(config);
  const perImage = largestTensorPerImage(state);
  // The largest parameter (a 3×3×64×64 filter, 144 KiB) fits in 30 images' worth (240 KiB).
  const limits = (bytes: number) => ({ maxStorageBufferBindingSize: bytes, maxBufferSize: 2 * bytes });
  it('is the whole batch where it fits', () => {
    expect(fitMicroBatch(state, 16, 0, limits(30 * perImage))).toBe(0);
  });
  it('is the configured one where that fits', () => {
    expect(fitMicroBatch(state, 64, 2, limits(30 * perImage))).toBe(2);
  });
  it('is as many images as fit the smaller of the two limits', () => {
    expect(fitMicroBatch(state, 64, 0, limits(30 * perImage + 1))).toBe(30);
    expect(fitMicroBatch(state, 64, 40, limits(30 * perImage))).toBe(30);
    expect(
      fitMicroBatch(state, 64, 0, { maxStorageBufferBindingSize: MiB, maxBufferSize: 25 * perImage }),
    ).toBe(25);
  });
  it('cannot be less than one image: the error says why and what to change', () => {
    // 112 pixels at width 1/16: 196 KiB for one image's stem, no parameter above 100 KiB.
    const face = createIResNet(
      iresnetSpec({ depth: 18, width: 0.0625, inputSize: 112, embeddingSize: 16 }),
      5,
    );
    const large = { ...state, face };
    const run = () => fitMicroBatch(large, 8, 0, limits(150 * 1024));
    expect(run).toThrow(GabnError);
    expect(run).toThrow(
      /one image's largest activation in iresnet18-w0.0625-e16 \(0.2 MiB\) is larger than this GPU's largest buffer \(0.1 MiB\)/,
    );
  });
  it('cannot hold a parameter larger than a buffer', () => {
    // 4000 classes of 16-dimensional centres: 250 KiB, above the 240 KiB where 30 images fit.
    const wide = { ...state, head: createMarginHead(16, 4000, 6) };
    expect(() => fitMicroBatch(wide, 8, 0, limits(30 * perImage))).toThrow(
      /the parameter head.weight of iresnet18.* \(0.2 MiB\) is larger than this GPU's largest buffer/,
    );
  });
});
