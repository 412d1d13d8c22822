/**
 * The image pipeline: decode (sharp), align to the ArcFace template when landmarks are known (else
 * resize an already aligned face), normalise as the paper does, (p − 127.5) / 128, and flip.
 */
import sharp from 'sharp';
import { GabnError } from '../base/errors.ts';
import { alignFace } from './align.ts';
import type { FaceImage } from './dataset.ts';

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** Row-major RGB, 0..255. */
  readonly pixels: Uint8Array;
  /** What the file really holds ('jpeg', 'png', …), whatever its name says. */
  readonly format: string;
}

export async function decodeImage(file: string): Promise<DecodedImage> {
  try {
    const pipeline = sharp(file, { failOn: 'error' });
    const metadata = await pipeline.metadata();
    const { data, info } = await pipeline
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion to RGB`);
    return {
      width: info.width,
      height: info.height,
      pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      format: metadata.format ?? 'unknown',
    };
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new GabnError('corrupt-image', `cannot decode the image: ${reason}`, {
      file,
      expected: 'a readable JPEG or PNG',
      cause: error,
    });
  }
}

/** Resizes RGB pixels with sharp's bilinear kernel (already aligned faces, smaller model inputs). */
export async function resizeRgb(
  pixels: Uint8Array,
  width: number,
  height: number,
  size: number,
): Promise<Uint8Array> {
  if (width === size && height === size) return pixels;
  const data = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width, height, channels: 3 },
  })
    .resize(size, size, { kernel: 'linear', fit: 'fill' })
    .raw()
    .toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** (p − 127.5) / 128, row-major HWC. */
export function normalisePixels(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = (pixels[i]! - 127.5) / 128;
  return out;
}

/** The mirror image of an HWC array with `channels` values per pixel. */
export function flipHorizontal<T extends Float32Array | Uint8Array>(data: T, size: number, channels = 3): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = (y * size + x) * channels;
      const to = (y * size + (size - 1 - x)) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = data[from + c]!;
    }
  }
  return out;
}

/** An aligned face as RGB pixels at size×size. */
export async function alignedPixels(image: FaceImage, size: number): Promise<Uint8Array> {
  const decoded = await decodeImage(image.path);
  if (image.landmarks) return alignFace(decoded.pixels, decoded.width, decoded.height, image.landmarks, size);
  return resizeRgb(decoded.pixels, decoded.width, decoded.height, size);
}

/** An aligned, normalised face: Float32Array of size·size·3, HWC. */
export async function loadAlignedImage(image: FaceImage, size: number): Promise<Float32Array> {
  return normalisePixels(await alignedPixels(image, size));
}
