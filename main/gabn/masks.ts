/**
 * The erasure rectangles of GAM-SFRE (paper §3.4 and its Algorithm 1) and of random erase, the
 * ablation it is compared with (Table 4). Pure functions of a map, a size and a seeded generator:
 * the same inputs give the same rectangles on every machine.
 *
 * GAM-SFRE: visit the pixels in descending GAM order (ties by ascending pixel index); a pixel
 * becomes a mask centre unless it lies inside a rectangle already placed, so the masks spread over
 * the sensitive region instead of stacking on its peak; each rectangle has a height drawn uniformly
 * from [1, h_mask] and a width from [1, w_mask], is centred on its pixel and clipped to the image;
 * stop after N_mask rectangles or when the pixels run out.
 */
import { GabnError } from '../base/errors.ts';
import type { Prng } from '../base/random.ts';
import { IRESNET_STRIDE } from '../models/iresnet-spec.ts';

/** A rectangle of pixels, already clipped to the image: rows top..top+height−1, columns left..left+width−1. */
export interface Rect {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

export interface EraseOptions {
  /** N_mask: rectangles per image. */
  readonly count: number;
  /** h_mask: the largest rectangle height drawn. */
  readonly maxHeight: number;
  /** w_mask: the largest rectangle width drawn. */
  readonly maxWidth: number;
  /**
   * Where GAM-SFRE's centres come from: the GAM's own ranking ('raw', the paper, the default), or
   * the ranking of the GAM smoothed by a box filter as wide as the network's total stride
   * ('smoothed', beyond the paper). The GAM of a strided network carries a regular grid — its hot
   * pixels sit on the stride lattice, an untrained network's too — so raw centres mostly land on
   * lattice points; a box filter whose width is the lattice's period removes that grid and ranks
   * regions instead (docs/gam.md).
   */
  readonly centres?: 'raw' | 'smoothed';
}

/**
 * The paper gives no N_mask, h_mask or w_mask. For 112×112 faces this project uses three
 * rectangles of at most 16×16 pixels (together at most 6% of the face, about an eye or the tip of the
 * nose each): enough to push attention off its peaks without hiding the face. The same values are
 * in the 'paper' configuration of presets.ts.
 */
export const DEFAULT_ERASE: EraseOptions = { count: 3, maxHeight: 16, maxWidth: 16 };

/** DEFAULT_ERASE scaled to another input size (same share of the face), at least 1 pixel. */
export function defaultEraseFor(inputSize: number): EraseOptions {
  const side = Math.max(1, Math.round((DEFAULT_ERASE.maxHeight * inputSize) / 112));
  return { count: DEFAULT_ERASE.count, maxHeight: side, maxWidth: side };
}

function checkErase(options: EraseOptions, height: number, width: number): void {
  const integers: [string, number, number][] = [
    ['count', options.count, 0],
    ['maxHeight', options.maxHeight, 1],
    ['maxWidth', options.maxWidth, 1],
    ['image height', height, 1],
    ['image width', width, 1],
  ];
  for (const [name, value, min] of integers) {
    if (!(Number.isInteger(value) && value >= min)) {
      throw new GabnError('config', `invalid erasure ${name} ${value}`, { expected: `an integer ≥ ${min}` });
    }
  }
}

/**
 * A rectangle of `rectHeight`×`rectWidth` centred on (row, column), clipped to the image. An even
 * side has no middle pixel: its extra row (column) is above (left of) the centre, so for a side k
 * the rectangle spans centre − ⌊k/2⌋ .. centre − ⌊k/2⌋ + k − 1.
 */
export function centredRect(
  row: number,
  column: number,
  rectHeight: number,
  rectWidth: number,
  height: number,
  width: number,
): Rect {
  const top = row - Math.floor(rectHeight / 2);
  const left = column - Math.floor(rectWidth / 2);
  const clippedTop = Math.max(0, top);
  const clippedLeft = Math.max(0, left);
  return {
    top: clippedTop,
    left: clippedLeft,
    height: Math.min(height, top + rectHeight) - clippedTop,
    width: Math.min(width, left + rectWidth) - clippedLeft,
  };
}

export function rectContains(rect: Rect, row: number, column: number): boolean {
  return (
    row >= rect.top && row < rect.top + rect.height && column >= rect.left && column < rect.left + rect.width
  );
}

/** Pixel indices in descending map value, ties by ascending index. */
export function descendingOrder(map: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(map.length);
  for (let i = 0; i < order.length; i++) {
    if (Number.isNaN(map[i])) {
      throw new GabnError('internal', `the attention map holds NaN at pixel ${i}`, {
        expected: 'a map of numbers (the network produced non-finite gradients)',
      });
    }
    order[i] = i;
  }
  return order.sort((a, b) => map[b]! - map[a]! || a - b);
}

/**
 * The mean of `map` over a `side`×`side` window around each pixel (the window clipped to the image,
 * the mean over what is inside), by summed-area table. A window as wide as a periodic pattern's
 * period averages that pattern away.
 */
export function boxFiltered(
  map: ArrayLike<number>,
  height: number,
  width: number,
  side: number,
): Float64Array {
  const sums = new Float64Array((height + 1) * (width + 1));
  for (let r = 0; r < height; r++) {
    let row = 0;
    for (let c = 0; c < width; c++) {
      row += map[r * width + c]!;
      sums[(r + 1) * (width + 1) + c + 1] = sums[r * (width + 1) + c + 1]! + row;
    }
  }
  const before = Math.floor(side / 2);
  const out = new Float64Array(height * width);
  for (let r = 0; r < height; r++) {
    const top = Math.max(0, r - before);
    const bottom = Math.min(height, r - before + side);
    for (let c = 0; c < width; c++) {
      const left = Math.max(0, c - before);
      const right = Math.min(width, c - before + side);
      const total =
        sums[bottom * (width + 1) + right]! -
        sums[top * (width + 1) + right]! -
        sums[bottom * (width + 1) + left]! +
        sums[top * (width + 1) + left]!;
      out[r * width + c] = total / ((bottom - top) * (right - left));
    }
  }
  return out;
}

/**
 * GAM-SFRE's rectangles for one image: `map` holds height·width GAM values, row-major (raw or
 * normalised: only the order counts). Draws two integers from `prng` per rectangle placed (height,
 * then width). With smoothed centres the ranking is that of the map box-filtered over `stride`.
 */
export function sensitiveRegionMasks(
  map: ArrayLike<number>,
  height: number,
  width: number,
  options: EraseOptions,
  prng: Prng,
  stride = IRESNET_STRIDE,
): Rect[] {
  checkErase(options, height, width);
  if (map.length !== height * width) {
    throw new GabnError(
      'internal',
      `an attention map of ${map.length} values for a ${height}×${width} image`,
      {
        expected: `${height * width} values`,
      },
    );
  }
  const rects: Rect[] = [];
  if (options.count === 0) return rects;
  const ranked = options.centres === 'smoothed' ? boxFiltered(map, height, width, stride) : map;
  for (const pixel of descendingOrder(ranked)) {
    const row = Math.floor(pixel / width);
    const column = pixel % width;
    if (rects.some((r) => rectContains(r, row, column))) continue;
    const rectHeight = prng.int(1, options.maxHeight);
    const rectWidth = prng.int(1, options.maxWidth);
    rects.push(centredRect(row, column, rectHeight, rectWidth, height, width));
    if (rects.length === options.count) break;
  }
  return rects;
}

/**
 * Random erase (the ablation of Table 4) for one image: the same count and size draws as GAM-SFRE,
 * at uniformly random centres. Draws row, column, height, width per rectangle.
 */
export function randomEraseMasks(height: number, width: number, options: EraseOptions, prng: Prng): Rect[] {
  checkErase(options, height, width);
  const rects: Rect[] = [];
  for (let i = 0; i < options.count; i++) {
    const row = prng.int(0, height - 1);
    const column = prng.int(0, width - 1);
    const rectHeight = prng.int(1, options.maxHeight);
    const rectWidth = prng.int(1, options.maxWidth);
    rects.push(centredRect(row, column, rectHeight, rectWidth, height, width));
  }
  return rects;
}

export type ErasureKind = 'sfre' | 'random';

/**
 * Rectangles for every image of a batch, drawn from one generator in image order (so a run that
 * saves the generator's state draws the same masks after it resumes). `maps` gives the GAM of each
 * image; random erase uses only their count.
 */
export function batchErasureMasks(
  kind: ErasureKind,
  maps: readonly ArrayLike<number>[],
  height: number,
  width: number,
  options: EraseOptions,
  prng: Prng,
  stride = IRESNET_STRIDE,
): Rect[][] {
  return maps.map((map) =>
    kind === 'sfre'
      ? sensitiveRegionMasks(map, height, width, options, prng, stride)
      : randomEraseMasks(height, width, options, prng),
  );
}
