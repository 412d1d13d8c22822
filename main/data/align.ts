/**
 * Five-point face alignment as insightface does it: the least-squares similarity transform
 * (Umeyama 1991, no reflection) from the detected landmarks onto the ArcFace template, then an affine
 * warp with bilinear sampling and a border of 0 (cv2.warpAffine(img, M, (112, 112), borderValue=0)).
 * Pixel centres are at integer coordinates, as in OpenCV.
 */
import { GabnError } from '../base/errors.ts';
import type { Landmarks } from './dataset.ts';

/** ArcFace's 112×112 template: left eye, right eye, nose, left and right mouth corners. */
export const ARCFACE_TEMPLATE: Landmarks = [
  38.2946, 51.6963, 73.5318, 51.5014, 56.0252, 71.7366, 41.5493, 92.3655, 70.7299, 92.2041,
];

/** The template for a face of `size` pixels: ArcFace's, scaled from 112. */
export function templateFor(size: number): Landmarks {
  return ARCFACE_TEMPLATE.map((v) => (v * size) / 112) as unknown as Landmarks;
}

/** [a, b, tx, c, d, ty]: x' = a x + b y + tx, y' = c x + d y + ty. */
export type Affine = readonly [number, number, number, number, number, number];

/**
 * The similarity transform (rotation, uniform scale, translation) that maps `from` onto `to` with the
 * least squared error (Umeyama's closed form in 2-D).
 */
export function similarityTransform(from: readonly number[], to: readonly number[]): Affine {
  const n = from.length / 2;
  if (n < 2 || from.length !== to.length || from.length % 2 !== 0) {
    throw new GabnError('internal', 'a similarity transform needs two equal lists of at least two points');
  }
  let mx = 0;
  let my = 0;
  let ux = 0;
  let uy = 0;
  for (let i = 0; i < n; i++) {
    mx += from[2 * i]!;
    my += from[2 * i + 1]!;
    ux += to[2 * i]!;
    uy += to[2 * i + 1]!;
  }
  mx /= n;
  my /= n;
  ux /= n;
  uy /= n;
  // With complex numbers z = x + iy, the best similarity is w = s·e^{iθ} (z − m) + u, where
  // s·e^{iθ} = Σ conj(z − m)(w − u) / Σ |z − m|² — the 2-D case of Umeyama without reflection.
  let re = 0;
  let im = 0;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    const x = from[2 * i]! - mx;
    const y = from[2 * i + 1]! - my;
    const u = to[2 * i]! - ux;
    const v = to[2 * i + 1]! - uy;
    re += x * u + y * v;
    im += x * v - y * u;
    variance += x * x + y * y;
  }
  if (variance === 0)
    throw new GabnError('dataset', 'the landmarks are all at one point', {
      expected: 'five distinct facial landmarks',
    });
  const a = re / variance;
  const b = im / variance;
  return [a, -b, ux - (a * mx - b * my), b, a, uy - (b * mx + a * my)];
}

export function applyAffine(m: Affine, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const det = m[0] * m[4] - m[1] * m[3];
  if (det === 0) throw new GabnError('internal', 'a degenerate transform cannot be inverted');
  const a = m[4] / det;
  const b = -m[1] / det;
  const c = -m[3] / det;
  const d = m[0] / det;
  return [a, b, -(a * m[2] + b * m[5]), c, d, -(c * m[2] + d * m[5])];
}

/**
 * Warps an RGB image (row-major, 3 channels) by `m` (source → output) into a size×size image:
 * output(x, y) = bilinear(source, m⁻¹(x, y)); samples outside the source read as 0.
 */
export function warpAffine(
  source: Uint8Array,
  width: number,
  height: number,
  m: Affine,
  size: number,
): Uint8Array {
  const inv = invertAffine(m);
  const out = new Uint8Array(size * size * 3);
  const at = (x: number, y: number, c: number) =>
    x < 0 || y < 0 || x >= width || y >= height ? 0 : source[(y * width + x) * 3 + c]!;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = inv[0] * x + inv[1] * y + inv[2];
      const sy = inv[3] * x + inv[4] * y + inv[5];
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) continue;
      for (let c = 0; c < 3; c++) {
        const top = at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx;
        const bottom = at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx;
        out[(y * size + x) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}

/** Aligns a face to size×size from its five landmarks. */
export function alignFace(
  source: Uint8Array,
  width: number,
  height: number,
  landmarks: Landmarks,
  size: number,
): Uint8Array {
  return warpAffine(source, width, height, similarityTransform(landmarks, templateFor(size)), size);
}
