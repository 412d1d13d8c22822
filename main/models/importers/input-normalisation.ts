/**
 * What an imported network expects of its input pixels, and how it is made to take the project's
 * normalised image x = (p − 127.5) / 128 (RGB) like every other checkpoint, so that gradients, and
 * so GAMs, are always taken with respect to the same input.
 *
 * A network that wants m_c = (p_c − mean_c) / std_c in colour order RGB or BGR sees, in terms of
 * x, m_c = a_c·x_c' + b_c with a_c = 128 / std_c and b_c = (127.5 − mean_c) / std_c (c' the
 * project's channel that feeds channel c). When every b_c is 0 (mean 127.5: arcface_torch's
 * (p − 127.5) / 127.5, and insightface's graphs that normalise inside) the scale and the channel
 * order fold exactly into the first convolution's kernel, zero padding included.
 */
import { GabnError } from '../../base/errors.ts';

export interface InputNormalisation {
  readonly colour: 'RGB' | 'BGR';
  /** Per channel, in the network's own channel order, on pixels 0..255. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** The project's own normalisation: nothing to fold. */
export const PROJECT_NORMALISATION: InputNormalisation = {
  colour: 'RGB',
  mean: [127.5, 127.5, 127.5],
  std: [128, 128, 128],
};

/** arcface_torch trains and exports with (p / 255 − 0.5) / 0.5 on RGB. */
export const ARCFACE_TORCH_NORMALISATION: InputNormalisation = {
  colour: 'RGB',
  mean: [127.5, 127.5, 127.5],
  std: [127.5, 127.5, 127.5],
};

/** m = x·scale + offset per network channel, and which project channel feeds it. */
export interface InputAffine {
  readonly scale: readonly number[];
  readonly offset: readonly number[];
  /** source[c]: the project's channel that the network's channel c reads. */
  readonly source: readonly number[];
}

export function inputAffine(n: InputNormalisation): InputAffine {
  return {
    scale: n.std.map((s) => 128 / s),
    offset: n.mean.map((m, c) => (127.5 - m) / n.std[c]!),
    source: n.colour === 'BGR' ? [2, 1, 0] : [0, 1, 2],
  };
}

/** Checks user-given or read values: three finite means, three positive deviations. */
export function checkNormalisation(n: InputNormalisation, file?: string): InputNormalisation {
  const ok =
    n.mean.length === 3 &&
    n.std.length === 3 &&
    n.mean.every(Number.isFinite) &&
    n.std.every((s) => Number.isFinite(s) && s > 0);
  if (!ok) {
    throw new GabnError('usage', `input normalisation mean [${n.mean}] std [${n.std}]`, {
      ...(file === undefined ? {} : { file }),
      expected: 'three finite means and three positive standard deviations, on pixels 0..255',
    });
  }
  return n;
}

/**
 * conv1's kernel [kh, kw, 3, O] (HWIO) rewritten to take the project's x: input channel c' of the
 * new kernel is input channel c of the old one times a_c. Refuses a normalisation with an offset,
 * which no kernel can absorb exactly (the zero padding would see −b/a instead of 0).
 */
export function foldIntoStem(
  kernel: Float32Array,
  shape: readonly number[],
  n: InputNormalisation,
  file: string,
): Float32Array {
  const affine = inputAffine(n);
  if (affine.offset.some((b) => Math.abs(b) > 1e-9)) {
    throw new GabnError(
      'usage',
      `an input mean of [${n.mean.join(', ')}] cannot be folded into the first convolution exactly`,
      {
        file,
        expected:
          'a network that takes (p − 127.5) / std (every mean 127.5), as insightface networks do; check --mean',
      },
    );
  }
  const [h, w, i, o] = shape as [number, number, number, number];
  const out = new Float32Array(kernel.length);
  for (let k = 0; k < h * w; k++) {
    for (let c = 0; c < i; c++) {
      const from = (k * i + c) * o;
      const to = (k * i + affine.source[c]!) * o;
      for (let oo = 0; oo < o; oo++) out[to + oo] = kernel[from + oo]! * affine.scale[c]!;
    }
  }
  return out;
}
