import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import {
  channelMaxAbs,
  gamObjective,
  gradientAttentionMap,
  gradientAttentionMapArrays,
  NORMALISE_EPSILON,
  normaliseMaps,
} from '../../../main/gabn/gam.ts';
import { checkGamWeightGradient } from './gam-double-backprop.ts';
import {
  convEmbed,
  convEmbedBatchStatistics,
  convImages,
  convNetWeights,
  embedding64,
  gam64,
  gamObjective64,
  gamObjectiveGradient64,
  type LinearNet,
  linearModel,
  linearNet,
  relativeError,
  sequence,
} from './gam-networks.ts';

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
});

function rawMaps(net: LinearNet, scale?: number): Float32Array {
  return tf.tidy(() => {
    const { embed, head, images } = linearModel(net);
    return gradientAttentionMap(
      embed,
      head,
      images,
      scale === undefined ? {} : { scale },
    ).dataSync() as Float32Array;
  });
}

/** Columns of W close to one direction: cosines within ~0.05 of each other, so s = 64 leaves P spread. */
function nearTieNet(seed: number): LinearNet {
  const net = linearNet(seed);
  const direction = sequence(net.dim, seed + 10, 1);
  const w = net.w.map((v, i) => direction[Math.floor(i / net.classes)]! + 0.03 * v);
  return { ...net, w };
}

describe('the hand derivation used as reference', () => {
  it('∂T/∂e agrees with float64 central differences of Eq. 1', () => {
    const net = linearNet(5);
    const e = embedding64(net, 0);
    const hand = gamObjectiveGradient64(net, e, 8);
    const h = 1e-6;
    const numeric = e.map((_, d) => {
      const plus = e.slice();
      const minus = e.slice();
      plus[d]! += h;
      minus[d]! -= h;
      return (gamObjective64(net, plus, 8) - gamObjective64(net, minus, 8)) / (2 * h);
    });
    expect(relativeError(hand, numeric)).toBeLessThan(1e-7);
  });
});

describe('Eq. 1-2: the GAM', () => {
  it('T equals Eq. 1 summed over the batch', () => {
    const net = linearNet(7, 3);
    const value = tf.tidy(() => {
      const { embed, head, images } = linearModel(net);
      return gamObjective(embed(images), head, 8).dataSync()[0]!;
    });
    const expected = [0, 1, 2].reduce((s, n) => s + gamObjective64(net, embedding64(net, n), 8), 0);
    expect(value).toBeCloseTo(expected, 6);
  });

  it('equals max_c |∂T/∂x| derived by hand, s = 8', () => {
    const net = linearNet(11, 3);
    const maps = rawMaps(net, 8);
    const pixels = net.height * net.width;
    expect(maps.length).toBe(net.n * pixels);
    for (let n = 0; n < net.n; n++) {
      expect(relativeError(maps.subarray(n * pixels, (n + 1) * pixels), gam64(net, n, 8))).toBeLessThan(2e-6);
    }
  });

  it('uses s = 64 by default and matches the hand derivation there', () => {
    // z = 64·cos θ multiplies float32's rounding of cos θ by 64: a tolerance of 1e-5, not 2e-6.
    const net = nearTieNet(13);
    const maps = rawMaps(net);
    const pixels = net.height * net.width;
    for (let n = 0; n < net.n; n++) {
      const expected = gam64(net, n, 64);
      expect(relativeError(maps.subarray(n * pixels, (n + 1) * pixels), expected)).toBeLessThan(1e-5);
      // s matters: the s = 8 map is a different map.
      expect(relativeError(gam64(net, n, 8), expected)).toBeGreaterThan(0.05);
    }
  });

  it('stays exact when the softmax saturates in float32, where softmax-then-max is rounding noise', () => {
    // Column n of W is image n's embedding direction plus half a unit orthogonal to both embeddings
    // (cos θ ≈ 0.89 for its own class); the other classes' columns are orthogonal to both
    // embeddings (cos θ = 0), so with s = 64, 1 − P_max is below 1e-8.
    const base = linearNet(17, 2, 4, 5, 3, 6, 7);
    const own = [embedding64(base, 0), embedding64(base, 1)];
    const w = base.w.slice();
    const column = (j: number) => Array.from({ length: base.dim }, (_, d) => w[d * base.classes + j]!);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, d) => s + v * b[d]!, 0);
    // Gram-Schmidt of the two embeddings, then of every other column against them.
    const u0 = own[0]!.map((v) => v / Math.sqrt(dot(own[0]!, own[0]!)));
    const r1 = own[1]!.map((v, d) => v - dot(own[1]!, u0) * u0[d]!);
    const u1 = r1.map((v) => v / Math.sqrt(dot(r1, r1)));
    for (let j = 0; j < base.classes; j++) {
      const random = column(j);
      let c = random.map((v, d) => v - dot(random, u0) * u0[d]! - dot(random, u1) * u1[d]!);
      // Not exactly along the embedding: (ŵ − cos θ·ê) would vanish and hide the top class's term.
      if (j < 2) c = c.map((v, d) => (0.5 * v) / Math.sqrt(dot(c, c)) + [u0, u1][j]![d]!);
      c.forEach((v, d) => {
        w[d * base.classes + j] = v;
      });
    }
    const net = { ...base, w };
    const scale = 64;
    // Precondition: 1 − P_max is far below float32's resolution for both images.
    for (let n = 0; n < net.n; n++) {
      const t = gamObjective64(net, embedding64(net, n), scale) + 1 / net.classes;
      expect(1 - t).toBeLessThan(1e-8);
    }
    const literal = tf.tidy(() => {
      const { embed, head, images } = linearModel(net);
      const dTdx = tf.grad((x: tf.Tensor) => {
        const e = embed(x as tf.Tensor4D);
        const cos = tf.matMul(
          tf.div(e, tf.norm(e, 'euclidean', 1, true)),
          tf.div(head.weight, tf.norm(head.weight, 'euclidean', 0, true)),
        );
        const p = tf.softmax(tf.mul(cos, scale));
        return tf.sum(tf.mean(tf.sub(tf.max(p, 1, true), p), 1));
      })(images) as tf.Tensor4D;
      return channelMaxAbs(dTdx).dataSync() as Float32Array;
    });
    const maps = rawMaps(net, scale);
    const pixels = net.height * net.width;
    for (let n = 0; n < net.n; n++) {
      const expected = gam64(net, n, scale);
      expect(relativeError(maps.subarray(n * pixels, (n + 1) * pixels), expected)).toBeLessThan(1e-5);
      expect(relativeError(literal.subarray(n * pixels, (n + 1) * pixels), expected)).toBeGreaterThan(0.1);
    }
  });

  it('gives each image its own gradient in eval mode; batch statistics mix the images', () => {
    const weights = convNetWeights(21);
    const head = { weight: weights.head };
    const x = convImages(23, 3);
    const one = (embed: ReturnType<typeof convEmbed>, i: number) =>
      tf.tidy(() =>
        gradientAttentionMap(embed, head, tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]), {
          scale: 4,
        }).dataSync(),
      );
    const together = tf.tidy(() =>
      gradientAttentionMap(convEmbed(weights), head, x, { scale: 4 }).dataSync(),
    );
    const pixels = x.shape[1] * x.shape[2];
    for (let i = 0; i < 3; i++) {
      expect(
        relativeError(together.subarray(i * pixels, (i + 1) * pixels), one(convEmbed(weights), i)),
      ).toBeLessThan(1e-6);
    }
    const mixed = tf.tidy(() =>
      gradientAttentionMap(convEmbedBatchStatistics(weights), head, x, { scale: 4 }).dataSync(),
    );
    // With batch statistics the batch-of-three map of image 0 differs from that image's map alone
    // (alone, a batch statistic is the image's own).
    const alone = one(convEmbedBatchStatistics(weights), 0);
    expect(relativeError(mixed.subarray(0, pixels), alone)).toBeGreaterThan(1e-2);
  });

  it("GAM-CT: the weights' gradient through the normalised GAM matches finite differences (cpu)", () => {
    const before = tf.memory().numTensors;
    const check = checkGamWeightGradient();
    expect(check.samePiece, 'a finite-difference step left the smooth piece of the base point').toBe(true);
    const bad = check.entries.filter((e) => !e.ok);
    expect(bad, `worst relative error ${check.worstRelativeError.toExponential(2)}`).toEqual([]);
    expect(check.entries.length).toBe(12);
    // Every parameter reaches the loss: a zero gradient would pass the comparison vacuously.
    for (const name of ['kernel', 'dense', 'head']) {
      const largest = Math.max(
        ...check.entries.filter((e) => e.parameter === name).map((e) => Math.abs(e.numeric)),
      );
      expect(largest).toBeGreaterThan(1e-3);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('normalisation', () => {
  it('divides each map by its own maximum (+1e-30) and keeps an all-zero map at zero', () => {
    const values = [0, 2, 4, 1, 0.5, 0.25, 0, 0, 0, 1e-20, 3e-20, 2e-20];
    const out = tf.tidy(() => normaliseMaps(tf.tensor3d(values, [4, 1, 3])).dataSync());
    const expected = [0, 0.5, 1, 1, 0.5, 0.25, 0, 0, 0, 1 / 3, 1, 2 / 3];
    expect(relativeError(out, expected)).toBeLessThan(1e-6);
    expect(NORMALISE_EPSILON).toBe(1e-30);
  });

  it('returns per-image arrays of raw / max with each raw maximum', async () => {
    const net = linearNet(29, 3);
    const raw = rawMaps(net, 8);
    const { embed, head, images } = linearModel(net);
    const before = tf.memory().numTensors;
    const { maps, rawMax } = await gradientAttentionMapArrays(embed, head, images, { scale: 8 });
    expect(tf.memory().numTensors).toBe(before);
    const pixels = net.height * net.width;
    expect(maps.length).toBe(3);
    maps.forEach((map, n) => {
      const part = raw.subarray(n * pixels, (n + 1) * pixels);
      const max = Math.max(...part);
      expect(rawMax[n]).toBe(max);
      expect(Math.max(...map)).toBe(1);
      map.forEach((v, i) => {
        expect(v).toBeCloseTo(part[i]! / max, 7);
      });
    });
  });
});
