import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { applyMasks } from '../../../main/gabn/apply-masks.ts';
import type { Rect } from '../../../main/gabn/masks.ts';
import { sequence } from './gam-networks.ts';

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
});

const N = 3;
const H = 7;
const W = 9;
const C = 3;

function inside(rects: readonly Rect[], r: number, c: number): boolean {
  return rects.some((q) => r >= q.top && r < q.top + q.height && c >= q.left && c < q.left + q.width);
}

describe('applyMasks', () => {
  it('sets every channel of exactly the rectangles to 0 and leaves every other value unchanged', () => {
    const values = sequence(N * H * W * C, 71, 1);
    const rects: Rect[][] = [
      [
        { top: 0, left: 0, height: 2, width: 3 },
        { top: 1, left: 2, height: 3, width: 3 },
      ],
      [],
      [{ top: 6, left: 8, height: 1, width: 1 }],
    ];
    const batch = tf.tensor4d(values, [N, H, W, C]);
    const before = tf.memory().numTensors;
    const erased = applyMasks(batch, rects);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(erased.shape).toEqual([N, H, W, C]);
    const out = erased.dataSync();
    let zeroed = 0;
    for (let n = 0; n < N; n++) {
      for (let r = 0; r < H; r++) {
        for (let c = 0; c < W; c++) {
          for (let k = 0; k < C; k++) {
            const i = ((n * H + r) * W + c) * C + k;
            if (inside(rects[n]!, r, c)) {
              // +0, not −0: a select, not a product.
              expect(Object.is(out[i], 0)).toBe(true);
              zeroed++;
            } else {
              expect(out[i]).toBe(Math.fround(values[i]!));
            }
          }
        }
      }
    }
    // The two rectangles of image 0 share one pixel (row 1, column 2): 6 + 9 − 1, plus one pixel.
    expect(zeroed).toBe((6 + 9 - 1 + 1) * C);
  });

  it('passes the gradient where the image is kept and none where it is erased', () => {
    const batch = tf.tensor4d(sequence(H * W * C, 73, 1), [1, H, W, C]);
    const rects: Rect[][] = [[{ top: 2, left: 3, height: 2, width: 4 }]];
    const g = tf
      .grad((x: tf.Tensor) => tf.sum(applyMasks(x as tf.Tensor4D, rects)))(batch)
      .dataSync();
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        expect(g[(r * W + c) * C]).toBe(inside(rects[0]!, r, c) ? 0 : 1);
      }
    }
  });

  it('refuses a rectangle outside the image and a wrong number of lists', () => {
    const batch = tf.zeros([2, H, W, C]) as tf.Tensor4D;
    expect(() => applyMasks(batch, [[], [{ top: 5, left: 0, height: 3, width: 1 }]])).toThrow(
      /rectangle.*image 1/,
    );
    expect(() => applyMasks(batch, [[]])).toThrow(/1 lists of erasure rectangles for 2 images/);
  });
});
