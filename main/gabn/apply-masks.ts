/**
 * Puts erasure rectangles on a batch of normalised images: every channel of an erased pixel becomes
 * 0, the value of the grey 127.5 after the paper's normalisation (p − 127.5) / 128, as the paper's
 * masks do (§3.4).
 */

import { GabnError } from '../base/errors.ts';
import { tf } from '../engine/tf.ts';
import type { Rect } from './masks.ts';

/** A [N, H, W] keep-mask, row-major: 0 inside any rectangle of that image, 1 elsewhere. */
export function keepMask(
  rectsPerImage: readonly (readonly Rect[])[],
  height: number,
  width: number,
): Uint8Array {
  const mask = new Uint8Array(rectsPerImage.length * height * width).fill(1);
  rectsPerImage.forEach((rects, n) => {
    for (const r of rects) {
      const inside =
        Number.isInteger(r.top) &&
        Number.isInteger(r.left) &&
        Number.isInteger(r.height) &&
        Number.isInteger(r.width) &&
        r.top >= 0 &&
        r.left >= 0 &&
        r.height >= 1 &&
        r.width >= 1 &&
        r.top + r.height <= height &&
        r.left + r.width <= width;
      if (!inside) {
        throw new GabnError('internal', `erasure rectangle ${JSON.stringify(r)} of image ${n}`, {
          expected: `integer bounds inside the ${height}×${width} image`,
        });
      }
      for (let row = r.top; row < r.top + r.height; row++) {
        mask.fill(0, (n * height + row) * width + r.left, (n * height + row) * width + r.left + r.width);
      }
    }
  });
  return mask;
}

/** The [N, H, W] keep-mask repeated over `channels`: [N, H, W, C] row-major. */
function keepMaskPerChannel(mask: Uint8Array, channels: number): Uint8Array {
  if (channels === 1) return mask;
  const full = new Uint8Array(mask.length * channels);
  mask.forEach((keep, pixel) => {
    if (keep) full.fill(1, pixel * channels, (pixel + 1) * channels);
  });
  return full;
}

/**
 * The batch [N, H, W, C] with each image's rectangles erased (value 0 in every channel). A select,
 * not x·mask: a product would leave −0 where x < 0. Its operands all have the batch's shape: a
 * select that broadcasts tiles them first (30 ms a GABN step on wasm). A gradient with respect to
 * the images passes where they are kept.
 */
export function applyMasks(batch: tf.Tensor4D, rectsPerImage: readonly (readonly Rect[])[]): tf.Tensor4D {
  const [n, height, width, channels] = batch.shape;
  if (rectsPerImage.length !== n) {
    throw new GabnError('internal', `${rectsPerImage.length} lists of erasure rectangles for ${n} images`, {
      expected: 'one list per image',
    });
  }
  return tf.tidy(() => {
    const mask = keepMaskPerChannel(keepMask(rectsPerImage, height, width), channels);
    const keep = tf.tensor4d(mask, batch.shape, 'bool');
    return tf.where(keep, batch, tf.zerosLike(batch));
  });
}
