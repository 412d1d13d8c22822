/**
 * GAM-CT's gradient path, checked: d/dθ of a loss on the normalised GAM (Eq. 1-2) by tfjs double
 * backprop against central finite differences of the same loss (Richardson-extrapolated, as in
 * tests/unit/engine/finite-difference-check.ts). Shared by the cpu and wasm test files.
 *
 * The GAM is piecewise smooth: |·| flips at a zero gradient, the channel max and the map's maximum
 * switch at ties, the top class at a tie of logits. Every finite-difference point must lie in the
 * base point's piece, or the comparison means nothing: each evaluation also returns that piece's
 * signature, and the check reports whether all of them agreed.
 */
import { tf } from '../../../main/engine/tf.ts';
import { channelMaxAbs, gamObjective, gradientAttentionMap, normaliseMaps } from '../../../main/gabn/gam.ts';
import { CONV, convEmbed, convImages, convNetWeights, sequence } from './gam-networks.ts';

const SCALE = 4;
const STEP = 1e-2;
const NAMES = ['kernel', 'dense', 'head'] as const;
type Name = (typeof NAMES)[number];

export interface GradientEntry {
  readonly parameter: Name;
  readonly index: number;
  readonly analytic: number;
  readonly numeric: number;
  readonly ok: boolean;
}

export interface GradientCheck {
  readonly entries: GradientEntry[];
  /** Every finite-difference point lay in the base point's smooth piece. */
  readonly samePiece: boolean;
  readonly worstRelativeError: number;
}

function loss(weights: Record<Name, tf.Tensor>, x: tf.Tensor4D, r: tf.Tensor3D): tf.Scalar {
  const embed = convEmbed({
    kernel: weights.kernel as tf.Tensor4D,
    dense: weights.dense as tf.Tensor2D,
    head: weights.head as tf.Tensor2D,
  });
  const gam = gradientAttentionMap(embed, { weight: weights.head as tf.Tensor2D }, x, { scale: SCALE });
  return tf.sum(tf.mul(normaliseMaps(gam), r));
}

/**
 * The smooth piece: per pixel the channel that gives the maximum and the sign of its gradient (the
 * other channels do not enter the map), the peak pixel per image, the top class per image.
 */
function piece(weights: Record<Name, tf.Tensor>, x: tf.Tensor4D): string {
  return tf.tidy(() => {
    const head = { weight: weights.head as tf.Tensor2D };
    const embed = convEmbed({
      kernel: weights.kernel as tf.Tensor4D,
      dense: weights.dense as tf.Tensor2D,
      head: head.weight,
    });
    const g = tf.grad((xx: tf.Tensor) => gamObjective(embed(xx as tf.Tensor4D), head, SCALE))(
      x,
    ) as tf.Tensor4D;
    const channel = tf.argMax(tf.abs(g), 3);
    const selected = tf.sum(tf.mul(g, tf.oneHot(channel, g.shape[3])), 3);
    const map = channelMaxAbs(g);
    const cos = tf.matMul(embed(x), head.weight);
    return [
      Array.from(channel.dataSync()).join(''),
      Array.from(tf.greater(selected, 0).dataSync()).join(''),
      Array.from(tf.argMax(tf.reshape(map, [x.shape[0], -1]), 1).dataSync()).join(','),
      Array.from(tf.argMax(tf.div(cos, tf.norm(head.weight, 'euclidean', 0)), 1).dataSync()).join(','),
    ].join('|');
  });
}

/**
 * Seed 83 puts every probe of the default step inside one smooth piece (with random small networks
 * about one seed in five does; the others cross a kink and are refused by `samePiece`).
 */
export function checkGamWeightGradient(seed = 83): GradientCheck {
  const base = convNetWeights(seed);
  const x = convImages(seed + 2, 2);
  const r = tf.tensor3d(sequence(2 * CONV.height * CONV.width, 47, 1), [2, CONV.height, CONV.width]);
  const values: Record<Name, number[]> = {
    kernel: Array.from(base.kernel.dataSync()),
    dense: Array.from(base.dense.dataSync()),
    head: Array.from(base.head.dataSync()),
  };
  const shapes: Record<Name, number[]> = {
    kernel: base.kernel.shape,
    dense: base.dense.shape,
    head: base.head.shape,
  };
  const tensorsWith = (name?: Name, index?: number, delta = 0): Record<Name, tf.Tensor> => {
    const out = {} as Record<Name, tf.Tensor>;
    for (const n of NAMES) {
      const v = values[n].slice();
      if (n === name) v[index!]! += delta;
      out[n] = tf.tensor(v, shapes[n]);
    }
    return out;
  };
  const analytic = tf.tidy(() => {
    const w = tensorsWith();
    const grads = tf.grads((k: tf.Tensor, d: tf.Tensor, h: tf.Tensor) =>
      loss({ kernel: k, dense: d, head: h }, x, r),
    )(NAMES.map((n) => w[n]));
    return grads.map((g) => Array.from(g.dataSync()));
  });
  const basePiece = tf.tidy(() => piece(tensorsWith(), x));
  let samePiece = true;
  const lossAt = (name: Name, index: number, delta: number): number =>
    tf.tidy(() => {
      const w = tensorsWith(name, index, delta);
      if (piece(w, x) !== basePiece) samePiece = false;
      return loss(w, x, r).dataSync()[0]!;
    });
  const entries: GradientEntry[] = [];
  let worst = 0;
  NAMES.forEach((name, p) => {
    const count = values[name].length;
    const indices = [0, Math.floor(count / 3), Math.floor(count / 2), count - 1];
    const numeric = indices.map((i) => {
      const d1 = (lossAt(name, i, STEP) - lossAt(name, i, -STEP)) / (2 * STEP);
      const d2 = (lossAt(name, i, STEP / 2) - lossAt(name, i, -STEP / 2)) / STEP;
      return (4 * d2 - d1) / 3;
    });
    const scale = Math.max(...numeric.map(Math.abs), 1e-6);
    indices.forEach((i, k) => {
      const a = analytic[p]![i]!;
      const error = Math.abs(a - numeric[k]!);
      worst = Math.max(worst, error / scale);
      entries.push({
        parameter: name,
        index: i,
        analytic: a,
        numeric: numeric[k]!,
        ok: error <= 2e-3 * scale + 1e-5,
      });
    });
  });
  tf.dispose([base.kernel, base.dense, base.head, x, r]);
  return { entries, samePiece, worstRelativeError: worst };
}
