/**
 * Pictures of attention for people: a face with its GAM overlaid and its erasure rectangles outlined,
 * and the average GAM of a group over the group's average face (the paper's Fig. 1b and 5). Pixels
 * in, PNG bytes out; the same colormaps as the app's overlays.
 */
import sharp from 'sharp';
import { type ColormapName, overlayAttention } from './colormap.ts';

/** A rectangle to outline (an erasure mask), in pixels. */
export interface Box {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** Row-major RGB, 0..255. */
  readonly pixels: Uint8Array;
}

/** Pixels of an image normalised as the paper does, x = (p − 127.5) / 128, back to 0..255. */
export function denormalise(x: Float32Array, width: number, height: number): RgbImage {
  const pixels = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) pixels[i] = Math.min(255, Math.max(0, Math.round(x[i]! * 128 + 127.5)));
  return { width, height, pixels };
}

/** Draws each rectangle's outline (1 pixel, in `color`) onto a copy of the image. */
export function outlineRectangles(
  image: RgbImage,
  rects: readonly Box[],
  color: readonly [number, number, number],
): RgbImage {
  const pixels = image.pixels.slice();
  const paint = (row: number, column: number) => {
    if (row < 0 || column < 0 || row >= image.height || column >= image.width) return;
    const at = (row * image.width + column) * 3;
    pixels[at] = color[0];
    pixels[at + 1] = color[1];
    pixels[at + 2] = color[2];
  };
  for (const r of rects) {
    const bottom = r.top + r.height - 1;
    const right = r.left + r.width - 1;
    for (let c = r.left; c <= right; c++) {
      paint(r.top, c);
      paint(bottom, c);
    }
    for (let row = r.top; row <= bottom; row++) {
      paint(row, r.left);
      paint(row, right);
    }
  }
  return { ...image, pixels };
}

export interface OverlayOptions {
  readonly colormap: ColormapName;
  /** 0..1: how strongly the hottest pixels take the colormap's colour. */
  readonly opacity: number;
  /** Erasure rectangles to outline, if any. */
  readonly rects?: readonly Box[];
  /** Output scale: small faces are enlarged (nearest neighbour) so the map stays readable. */
  readonly scale?: number;
}

export async function attentionOverlayPng(
  face: RgbImage,
  map: Float32Array,
  options: OverlayOptions,
): Promise<Buffer> {
  let image: RgbImage = {
    ...face,
    pixels: overlayAttention(face.pixels, map, options.colormap, options.opacity),
  };
  if (options.rects && options.rects.length > 0)
    image = outlineRectangles(image, options.rects, [255, 255, 255]);
  return encodePng(image, options.scale ?? 1);
}

/** A group's average map scaled to a maximum of 1 for display (the mean of max-normalised maps peaks below 1). */
export function scaledToMaximum(map: Float32Array): Float32Array {
  let max = 0;
  for (const v of map) max = Math.max(max, v);
  return max > 0 ? map.map((v) => v / max) : map;
}

/** A grey image of the face's size: what an average map is drawn over when faces are left out. */
export function greyLike(face: RgbImage): RgbImage {
  return { ...face, pixels: new Uint8Array(face.pixels.length).fill(128) };
}

/** The group's average attention map (scaled for display) over its average face, or over grey. */
export function averageAttentionPng(
  averageFace: RgbImage,
  averageMap: Float32Array,
  options: { readonly colormap: ColormapName; readonly noFaces: boolean; readonly scale: number },
): Promise<Buffer> {
  const underlay = options.noFaces ? greyLike(averageFace) : averageFace;
  return attentionOverlayPng(underlay, scaledToMaximum(averageMap), {
    colormap: options.colormap,
    opacity: 1,
    scale: options.scale,
  });
}

/** The enlargement that shows a face of `inputSize` pixels at about 224 pixels. */
export function displayScale(inputSize: number): number {
  return Math.max(1, Math.round(224 / inputSize));
}

export async function encodePng(image: RgbImage, scale = 1): Promise<Buffer> {
  let pipeline = sharp(Buffer.from(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  if (scale !== 1) {
    pipeline = pipeline.resize(Math.round(image.width * scale), Math.round(image.height * scale), {
      kernel: 'nearest',
    });
  }
  return pipeline.png({ compressionLevel: 9 }).toBuffer();
}

/** Running mean of faces of one size, in float64. */
export class AverageFace {
  private readonly sum: Float64Array;
  private count = 0;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.sum = new Float64Array(width * height * 3);
  }

  add(face: RgbImage): void {
    for (let i = 0; i < this.sum.length; i++) this.sum[i]! += face.pixels[i]!;
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  image(): RgbImage {
    const pixels = new Uint8Array(this.sum.length);
    if (this.count > 0)
      for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(this.sum[i]! / this.count);
    return { width: this.width, height: this.height, pixels };
  }
}
