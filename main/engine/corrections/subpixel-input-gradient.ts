/**
 * The input gradient of a strided convolution without the zeros. Written as the correlation of the
 * zero-inserted dy with the flipped filter, a stride-2 layer multiplies three zeros for every value
 * (a seventh of a GABN step's convolution arithmetic went to them). Split instead by the phase of the
 * input row and column modulo the stride: the rows r ≡ p (mod s) of the padded input receive only the
 * taps kh ≡ p (mod s), so each phase is a stride-1 correlation of dy itself with a sub-filter, and the
 * s² phases, interleaved, are dx. Together they do the forward pass's arithmetic exactly.
 *
 * Per axis, with the padded input row r = p + s·a:
 *   dx_p[a] = sum_j dy[a − j] · W[p + s·j],  j = 0 .. J_p − 1,  J_p = ceil((K − p) / s)
 * a stride-1 'valid' correlation of dy padded by J_p − 1 in front with the sub-filter reversed.
 */
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { tf as TF } from '../tf.ts';

type Tf = typeof TF;

interface Axis {
  /** Stride. */
  readonly s: number;
  /** Kernel size. */
  readonly k: number;
  /** Padding in front of the input. */
  readonly front: number;
  /** Input size. */
  readonly size: number;
}

/** Row groups of s padded rows that cover the input: R = ceil((front + size) / s). */
function groups(axis: Axis): number {
  return Math.ceil((axis.front + axis.size) / axis.s);
}

/** Taps of phase p: J_p. */
function taps(axis: Axis, p: number): number {
  return p >= axis.k ? 0 : Math.ceil((axis.k - p) / axis.s);
}

/**
 * The reversed, in/out-swapped sub-filter of phase (ph, pw): F[th, tw, co, ci] =
 * W[ph + s·(Jh − 1 − th), pw + s·(Jw − 1 − tw), ci, co], read on the host (filters are small).
 */
function subFilter(
  values: Float32Array,
  shape: readonly [number, number, number, number],
  ph: number,
  pw: number,
  jh: number,
  jw: number,
  sh: number,
  sw: number,
): Float32Array {
  const [, kw, ci, co] = shape;
  const out = new Float32Array(jh * jw * co * ci);
  for (let th = 0; th < jh; th++) {
    const row = ph + sh * (jh - 1 - th);
    for (let tw = 0; tw < jw; tw++) {
      const col = pw + sw * (jw - 1 - tw);
      const source = (row * kw + col) * ci * co;
      const target = (th * jw + tw) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) out[target + o * ci + i] = values[source + i * co + o]!;
      }
    }
  }
  return out;
}

/** dy without the rows and columns past R and C: they would reach padded rows past the input. */
function phaseInput(tf: Tf, dy: Tensor4D, rows: Axis, cols: Axis): Tensor4D {
  const [n, oh, ow, co] = dy.shape;
  const r = groups(rows);
  const c = groups(cols);
  return oh > r || ow > c ? tf.slice(dy, [0, 0, 0, 0], [n, Math.min(oh, r), Math.min(ow, c), co]) : dy;
}

export function subpixelInputGradient(
  tf: Tf,
  dy: Tensor4D,
  filter: Tensor4D,
  rows: Axis,
  cols: Axis,
): Tensor4D {
  const [n, , , co] = dy.shape;
  const ci = filter.shape[2];
  const r = groups(rows);
  const c = groups(cols);
  const input = phaseInput(tf, dy, rows, cols);
  const values = filter.dataSync() as Float32Array;
  const phaseRows: Tensor4D[] = [];
  for (let ph = 0; ph < rows.s; ph++) {
    const jh = taps(rows, ph);
    const phases: Tensor4D[] = [];
    for (let pw = 0; pw < cols.s; pw++) {
      const jw = taps(cols, pw);
      if (jh === 0 || jw === 0) {
        phases.push(tf.zeros([n, r, c, ci]));
        continue;
      }
      const f = tf.tensor4d(subFilter(values, filter.shape, ph, pw, jh, jw, rows.s, cols.s), [
        jh,
        jw,
        co,
        ci,
      ]);
      phases.push(
        tf.conv2d(input, f, 1, [
          [0, 0],
          [jh - 1, r - input.shape[1]],
          [jw - 1, c - input.shape[2]],
          [0, 0],
        ]),
      );
    }
    // [n, R, C, sw, ci]: the column phases side by side.
    phaseRows.push(tf.stack(phases, 3) as unknown as Tensor4D);
  }
  // [n, R, sh, C, sw, ci] → padded rows a·sh + ph and columns b·sw + pw.
  const interleaved = tf.reshape(tf.stack(phaseRows, 2), [n, r * rows.s, c * cols.s, ci]) as Tensor4D;
  return tf.slice(interleaved, [0, rows.front, cols.front, 0], [n, rows.size, cols.size, ci]);
}
