import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { computeAttribution } from '../../../main/gabn/attribution.ts';
import { channelMaxAbs, normaliseMaps } from '../../../main/gabn/gam.ts';
import { pairGradientAttentionMap, pairObjective, rowCosines } from '../../../main/gabn/pair-gam.ts';
import { channelMaxAbs64, embedding64, type LinearNet, linearNet, relativeError } from './gam-networks.ts';

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
});

const dot = (a: number[], b: number[]) => a.reduce((s, v, d) => s + v * b[d]!, 0);

/** ∂cos(e, p)/∂e = (p̂ − cos·ê) / |e| in float64. */
function pairGradient64(e: number[], p: number[]): number[] {
  const le = Math.sqrt(dot(e, e));
  const lp = Math.sqrt(dot(p, p));
  const cos = dot(e, p) / (le * lp);
  return e.map((v, d) => (p[d]! / lp - (cos * v) / le) / le);
}

/** Images 0..n−1 of `net` against partners n..2n−1 (same linear embedder). */
function pairNet(seed: number): LinearNet {
  return linearNet(seed, 4);
}

function pixelsOf(net: LinearNet): number {
  return net.height * net.width * net.channels;
}

describe('the pair GAM (models without a head)', () => {
  it('equals max_c |∂cos(e(x), ē)/∂x| derived by hand', () => {
    const net = pairNet(31);
    const p = pixelsOf(net);
    const maps = tf.tidy(() => {
      const a = tf.tensor2d(net.a, [p, net.dim]);
      const embed = (x: tf.Tensor4D): tf.Tensor2D => tf.matMul(tf.reshape(x, [x.shape[0], p]), a);
      const all = tf.tensor4d(net.x, [4, net.height, net.width, net.channels]);
      const x = tf.slice(all, [0, 0, 0, 0], [2, -1, -1, -1]);
      const partners = embed(tf.slice(all, [2, 0, 0, 0], [2, -1, -1, -1]));
      return pairGradientAttentionMap(embed, x, partners).dataSync();
    });
    const hw = net.height * net.width;
    for (let n = 0; n < 2; n++) {
      const expected = channelMaxAbs64(net, pairGradient64(embedding64(net, n), embedding64(net, n + 2)));
      expect(relativeError(maps.subarray(n * hw, (n + 1) * hw), expected)).toBeLessThan(2e-6);
    }
  });

  it('T is the sum of the pairs’ cosines', () => {
    const net = pairNet(33);
    const e = [0, 1, 2, 3].map((n) => embedding64(net, n));
    const value = tf.tidy(
      () => pairObjective(tf.tensor2d(e.slice(0, 2)), tf.tensor2d(e.slice(2))).dataSync()[0]!,
    );
    const expected = [0, 1].reduce(
      (s, n) => s + dot(e[n]!, e[n + 2]!) / Math.sqrt(dot(e[n]!, e[n]!) * dot(e[n + 2]!, e[n + 2]!)),
      0,
    );
    expect(value).toBeCloseTo(expected, 6);
  });

  it('holds the partner embedding constant when the map is differentiated with respect to the weights', () => {
    const net = pairNet(35);
    const p = pixelsOf(net);
    const all = tf.tensor4d(net.x, [4, net.height, net.width, net.channels]);
    const x = tf.slice(all, [0, 0, 0, 0], [2, -1, -1, -1]);
    const partnerImages = tf.slice(all, [2, 0, 0, 0], [2, -1, -1, -1]);
    const r = tf.tensor3d(
      Array.from({ length: 2 * net.height * net.width }, (_, i) => Math.sin(i + 1)),
      [2, net.height, net.width],
    );
    const a0 = tf.tensor2d(net.a, [p, net.dim]);
    const embedWith =
      (a: tf.Tensor) =>
      (images: tf.Tensor4D): tf.Tensor2D =>
        tf.matMul(tf.reshape(images, [images.shape[0], p]) as tf.Tensor2D, a as tf.Tensor2D);
    const outer = (map: tf.Tensor3D) => tf.sum(tf.mul(normaliseMaps(map), r));
    // The partner embedded by the same weights, inside the differentiated function.
    const inside = tf
      .grad((a: tf.Tensor) => outer(pairGradientAttentionMap(embedWith(a), x, embedWith(a)(partnerImages))))(
        a0,
      )
      .dataSync();
    // The partner as a plain constant.
    const constant = tf.tensor2d(embedWith(a0)(partnerImages).dataSync(), [2, net.dim]);
    const outside = tf
      .grad((a: tf.Tensor) => outer(pairGradientAttentionMap(embedWith(a), x, constant)))(a0)
      .dataSync();
    expect(relativeError(inside, outside)).toBeLessThan(1e-6);
    // Without the hold, the weights' gradient through the partner is not zero: the hold matters.
    const leaking = tf
      .grad((a: tf.Tensor) => {
        const partner = embedWith(a)(partnerImages);
        const g = tf.grad((xx: tf.Tensor) => tf.sum(rowCosines(embedWith(a)(xx as tf.Tensor4D), partner)))(x);
        return outer(channelMaxAbs(g as tf.Tensor4D));
      })(a0)
      .dataSync();
    expect(relativeError(leaking, outside)).toBeGreaterThan(1e-3);
  });

  it('computeAttribution gives the same maps from partner images and from partner embeddings', async () => {
    const net = pairNet(37);
    const p = pixelsOf(net);
    const a = tf.tensor2d(net.a, [p, net.dim]);
    const embed = (x: tf.Tensor4D): tf.Tensor2D => tf.matMul(tf.reshape(x, [x.shape[0], p]), a);
    const all = tf.tensor4d(net.x, [4, net.height, net.width, net.channels]);
    const x = tf.slice(all, [0, 0, 0, 0], [2, -1, -1, -1]);
    const partners = tf.slice(all, [2, 0, 0, 0], [2, -1, -1, -1]);
    const fromImages = await computeAttribution('pair-gam', { embed }, x, { partners });
    const fromEmbeddings = await computeAttribution('pair-gam', { embed }, x, {
      partnerEmbeddings: embed(partners),
    });
    expect(fromImages.method).toBe('pair-gam');
    expect(fromImages.maps.length).toBe(2);
    fromImages.maps.forEach((m, i) => {
      expect(Array.from(m)).toEqual(Array.from(fromEmbeddings.maps[i]!));
      const hw = net.height * net.width;
      const raw = channelMaxAbs64(net, pairGradient64(embedding64(net, i), embedding64(net, i + 2)));
      expect(fromImages.rawMax[i]).toBeCloseTo(Math.max(...raw), 6);
      expect(m.length).toBe(hw);
      expect(Math.max(...m)).toBe(1);
    });
  });
});
