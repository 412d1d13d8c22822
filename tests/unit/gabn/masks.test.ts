import { describe, expect, it } from 'vitest';
import { isGabnError } from '../../../main/base/errors.ts';
import { createPrng, restorePrng } from '../../../main/base/random.ts';
import {
  batchErasureMasks,
  centredRect,
  DEFAULT_ERASE,
  defaultEraseFor,
  descendingOrder,
  type EraseOptions,
  type Rect,
  randomEraseMasks,
  rectContains,
  sensitiveRegionMasks,
} from '../../../main/gabn/masks.ts';
import { NAMED_CONFIGS } from '../../../main/gabn/presets.ts';
import { sequence } from './gam-networks.ts';

const H = 112;
const W = 112;

/** A smooth map with a few peaks and a plateau of ties, values ≥ 0. */
function faceLikeMap(seed: number): Float32Array {
  const noise = sequence(H * W, seed, 0.05);
  const peaks = [
    [40, 38, 1],
    [40, 74, 0.9],
    [72, 56, 0.8],
  ];
  return Float32Array.from({ length: H * W }, (_, i) => {
    const r = Math.floor(i / W);
    const c = i % W;
    const g = peaks.reduce((s, [pr, pc, a]) => s + a! * Math.exp(-((r - pr!) ** 2 + (c - pc!) ** 2) / 60), 0);
    return Math.max(0, g + noise[i]!);
  });
}

function inBounds(r: Rect, options: EraseOptions): boolean {
  return (
    r.top >= 0 &&
    r.left >= 0 &&
    r.top + r.height <= H &&
    r.left + r.width <= W &&
    r.height >= 1 &&
    r.width >= 1 &&
    r.height <= options.maxHeight &&
    r.width <= options.maxWidth
  );
}

describe('the seeded generator', () => {
  it('is deterministic, resumable from its state, and draws integers inside the range', () => {
    const a = createPrng(7);
    const b = createPrng(7);
    const first = Array.from({ length: 50 }, () => a.next());
    expect(Array.from({ length: 50 }, () => b.next())).toEqual(first);
    expect(createPrng(8).next()).not.toBe(first[0]);
    const saved = a.state();
    const continued = Array.from({ length: 20 }, () => a.int(1, 16));
    const resumed = restorePrng(saved);
    expect(Array.from({ length: 20 }, () => resumed.int(1, 16))).toEqual(continued);
    const counts = new Array<number>(16).fill(0);
    const prng = createPrng(9);
    for (let i = 0; i < 16000; i++) {
      const v = prng.int(1, 16);
      expect(Number.isInteger(v) && v >= 1 && v <= 16).toBe(true);
      counts[v - 1]!++;
    }
    // Every value appears about 1000 times (binomial sd ≈ 31; 6 sd of slack).
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(190);
  });

  it('refuses a fractional seed and a malformed state', () => {
    expect(() => createPrng(1.5)).toThrow(/integer/);
    expect(() => restorePrng([1, 2, 3] as unknown as [number, number, number, number])).toThrow(/state/);
  });
});

describe('GAM-SFRE rectangles', () => {
  it('visits pixels in descending value, ties by ascending index', () => {
    expect(Array.from(descendingOrder([0.5, 2, 0.5, 3, 2, 0]))).toEqual([3, 1, 4, 0, 2, 5]);
  });

  it('centres a rectangle on its pixel (an even side reaches one further up/left) and clips it', () => {
    expect(centredRect(10, 20, 3, 5, H, W)).toEqual({ top: 9, left: 18, height: 3, width: 5 });
    expect(centredRect(10, 20, 4, 2, H, W)).toEqual({ top: 8, left: 19, height: 4, width: 2 });
    expect(centredRect(0, 111, 5, 5, H, W)).toEqual({ top: 0, left: 109, height: 3, width: 3 });
  });

  it('covers the highest pixel, skips centres inside earlier rectangles, and respects count and sizes', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const map = faceLikeMap(seed);
      const rects = sensitiveRegionMasks(map, H, W, DEFAULT_ERASE, createPrng(seed));
      expect(rects.length).toBe(DEFAULT_ERASE.count);
      const order = descendingOrder(map);
      const top = order[0]!;
      expect(rectContains(rects[0]!, Math.floor(top / W), top % W)).toBe(true);
      for (const r of rects) expect(inBounds(r, DEFAULT_ERASE)).toBe(true);
      // Rebuild the centres: each rectangle's centre is the first pixel in GAM order that lies
      // outside all earlier rectangles.
      let k = 0;
      rects.forEach((rect, n) => {
        while (rects.slice(0, n).some((r) => rectContains(r, Math.floor(order[k]! / W), order[k]! % W))) k++;
        const pixel = order[k]!;
        expect(rectContains(rect, Math.floor(pixel / W), pixel % W)).toBe(true);
        k++;
      });
    }
  });

  it('draws each height in [1, h_mask] and width in [1, w_mask], all values reachable', () => {
    const options = { count: 40, maxHeight: 4, maxWidth: 3 };
    const heights = new Set<number>();
    const widths = new Set<number>();
    // A map that rises left to right: centres far from every edge.
    const map = Float32Array.from({ length: H * W }, (_, i) => {
      const r = Math.floor(i / W);
      const c = i % W;
      return r > 10 && r < 100 && c > 10 && c < 100 ? 1 + ((r * 7 + c * 13) % 97) : 0;
    });
    const rects = sensitiveRegionMasks(map, H, W, options, createPrng(3));
    expect(rects.length).toBe(40);
    for (const r of rects) {
      heights.add(r.height);
      widths.add(r.width);
    }
    expect([...heights].sort()).toEqual([1, 2, 3, 4]);
    expect([...widths].sort()).toEqual([1, 2, 3]);
  });

  it('is deterministic for a seed and differs for another', () => {
    const map = faceLikeMap(9);
    const a = sensitiveRegionMasks(map, H, W, { count: 8, maxHeight: 16, maxWidth: 16 }, createPrng(11));
    const b = sensitiveRegionMasks(map, H, W, { count: 8, maxHeight: 16, maxWidth: 16 }, createPrng(11));
    const c = sensitiveRegionMasks(map, H, W, { count: 8, maxHeight: 16, maxWidth: 16 }, createPrng(12));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('stops when the pixels run out', () => {
    // A 3×3 image and 3×3 masks at most: once the image is covered no centre is left.
    const map = [9, 8, 7, 6, 5, 4, 3, 2, 1];
    const rects = sensitiveRegionMasks(map, 3, 3, { count: 100, maxHeight: 3, maxWidth: 3 }, createPrng(1));
    expect(rects.length).toBeLessThan(100);
    for (let p = 0; p < 9; p++) {
      expect(rects.some((r) => rectContains(r, Math.floor(p / 3), p % 3))).toBe(true);
    }
    // With 1×1 masks every pixel is a centre, in descending order.
    const ones = sensitiveRegionMasks(map, 3, 3, { count: 100, maxHeight: 1, maxWidth: 1 }, createPrng(1));
    expect(ones.map((r) => r.top * 3 + r.left)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('refuses a map of the wrong size, NaN, and invalid sizes', () => {
    const prng = createPrng(1);
    expect(() => sensitiveRegionMasks([1, 2, 3], 2, 2, DEFAULT_ERASE, prng)).toThrow(/3 values for a 2×2/);
    expect(() => sensitiveRegionMasks([1, Number.NaN, 3, 4], 2, 2, DEFAULT_ERASE, prng)).toThrow(/NaN/);
    const error = (() => {
      try {
        sensitiveRegionMasks([1, 2, 3, 4], 2, 2, { count: 1, maxHeight: 0, maxWidth: 2 }, prng);
      } catch (e) {
        return e;
      }
    })();
    expect(isGabnError(error)).toBe(true);
    expect(String(error)).toMatch(/maxHeight 0/);
  });
});

describe('random erase (the ablation)', () => {
  it('places the same count and sizes at random centres, inside the image, deterministically', () => {
    const options = { count: 500, maxHeight: 16, maxWidth: 16 };
    const rects = randomEraseMasks(H, W, options, createPrng(5));
    expect(rects.length).toBe(500);
    for (const r of rects) expect(inBounds(r, options)).toBe(true);
    expect(randomEraseMasks(H, W, options, createPrng(5))).toEqual(rects);
    // Centres spread over the whole image: every quadrant gets about a quarter of them.
    const quadrants = [0, 0, 0, 0];
    for (const r of rects) {
      const row = r.top + r.height / 2;
      const col = r.left + r.width / 2;
      quadrants[(row < H / 2 ? 0 : 2) + (col < W / 2 ? 0 : 1)]!++;
    }
    for (const q of quadrants) expect(q).toBeGreaterThan(80);
  });

  it('GAM-SFRE draws a height then a width per rectangle from the generator', () => {
    const sfre = sensitiveRegionMasks(
      faceLikeMap(3),
      H,
      W,
      { count: 1, maxHeight: 16, maxWidth: 16 },
      createPrng(21),
    );
    const prng = createPrng(21);
    const hDraw = prng.int(1, 16);
    const wDraw = prng.int(1, 16);
    const centre = descendingOrder(faceLikeMap(3))[0]!;
    expect(sfre[0]).toEqual(centredRect(Math.floor(centre / W), centre % W, hDraw, wDraw, H, W));
  });
});

describe('defaults', () => {
  it('are three rectangles up to 16×16 at 112 pixels, as in the paper configuration, scaled with the input', () => {
    expect(DEFAULT_ERASE).toEqual({ count: 3, maxHeight: 16, maxWidth: 16 });
    expect(NAMED_CONFIGS.paper!.erase).toEqual({ ...DEFAULT_ERASE, centres: 'raw' });
    expect(defaultEraseFor(112)).toEqual(DEFAULT_ERASE);
    expect(defaultEraseFor(56)).toEqual({ count: 3, maxHeight: 8, maxWidth: 8 });
    expect(NAMED_CONFIGS.small!.erase).toEqual({
      ...defaultEraseFor(NAMED_CONFIGS.small!.model.inputSize),
      centres: 'raw',
    });
  });
});

describe('a batch', () => {
  it('draws the images in order from one generator', () => {
    const maps = [faceLikeMap(1), faceLikeMap(2), faceLikeMap(3)];
    const prng = createPrng(31);
    const one = maps.map((m) => sensitiveRegionMasks(m, H, W, DEFAULT_ERASE, prng));
    expect(batchErasureMasks('sfre', maps, H, W, DEFAULT_ERASE, createPrng(31))).toEqual(one);
    const again = createPrng(31);
    const random = maps.map(() => randomEraseMasks(H, W, DEFAULT_ERASE, again));
    expect(batchErasureMasks('random', maps, H, W, DEFAULT_ERASE, createPrng(31))).toEqual(random);
  });
});
