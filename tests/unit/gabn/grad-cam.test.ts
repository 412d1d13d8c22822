import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { computeAttribution } from '../../../main/gabn/attribution.ts';
import { camStages, relativeError, sequence } from './gam-networks.ts';

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
});

// Input 6×6×2, last stage ReLU(conv3×3 stride 2) → 3×3×3, embedding 4, head 5 classes.
const H = 6;
const W = 6;
const C = 2;
const K = 3;
const D = 4;
const CLASSES = 5;
const h = 3;
const w = 3;

const dot = (a: number[], b: number[]) => a.reduce((s, v, d) => s + v * b[d]!, 0);

function network(seed: number) {
  const kernel = tf.tensor4d(sequence(9 * C * K, seed, 0.7), [3, 3, C, K]);
  const denseValues = sequence(h * w * K * D, seed + 1, 0.5);
  const dense = tf.tensor2d(denseValues, [h * w * K, D]);
  const headValues = sequence(D * CLASSES, seed + 2, 1);
  const stages = camStages(kernel, dense);
  const images = tf.tensor4d(sequence(3 * H * W * C, seed + 3, 1), [3, H, W, C]);
  return {
    stages,
    dense,
    denseValues,
    headValues,
    head: { weight: tf.tensor2d(headValues, [D, CLASSES]) },
    images,
  };
}

/** Bilinear resize of one [h, w] map to [H, W] with half-pixel centres (PyTorch align_corners=False). */
function upsample64(map: number[]): number[] {
  const out: number[] = [];
  const source = (i: number, from: number, to: number) => Math.max(0, ((i + 0.5) * from) / to - 0.5);
  for (let i = 0; i < H; i++) {
    const sy = source(i, h, H);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = sy - y0;
    for (let j = 0; j < W; j++) {
      const sx = source(j, w, W);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = sx - x0;
      const at = (y: number, x: number) => map[y * w + x]!;
      out.push(
        (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)),
      );
    }
  }
  return out;
}

/**
 * Grad-CAM by hand for image n from its stage activations `a` [h·w·K] and ∂score/∂e: ∂score/∂A = B·∂score/∂e,
 * weights = spatial means, map = upsample(ReLU(Σ_k w_k A_k)) / max.
 */
function gradCam64(a: number[], denseValues: number[], dScoreDe: number[]): number[] {
  const dA = a.map((_, i) => dot(denseValues.slice(i * D, (i + 1) * D), dScoreDe));
  const weights = Array.from({ length: K }, (_, k) => {
    let s = 0;
    for (let p = 0; p < h * w; p++) s += dA[p * K + k]!;
    return s / (h * w);
  });
  const cam = Array.from({ length: h * w }, (_, p) =>
    Math.max(
      0,
      weights.reduce((s, wk, k) => s + wk * a[p * K + k]!, 0),
    ),
  );
  const up = upsample64(cam);
  const max = Math.max(...up);
  return up.map((v) => v / max);
}

function embeddingOf(a: number[], denseValues: number[]): number[] {
  return Array.from({ length: D }, (_, d) => a.reduce((s, v, i) => s + v * denseValues[i * D + d]!, 0));
}

describe('Grad-CAM on the last convolution stage', () => {
  it("explains the predicted identity's s·cos θ_y as computed by hand", async () => {
    const net = network(51);
    const features = net.stages
      .features(net.images)
      .arraySync()
      .map((img) => img.flat(2));
    const model = {
      embed: (x: tf.Tensor4D) => net.stages.embedFeatures(net.stages.features(x)),
      head: net.head,
      stages: net.stages,
    };
    const result = await computeAttribution('grad-cam', model, net.images, { scale: 64 });
    expect(result.method).toBe('grad-cam');
    expect([result.width, result.height]).toEqual([W, H]);
    const columns = Array.from({ length: CLASSES }, (_, j) => {
      const c = Array.from({ length: D }, (_, d) => net.headValues[d * CLASSES + j]!);
      const len = Math.sqrt(dot(c, c));
      return c.map((v) => v / len);
    });
    let distinct = 0;
    features.forEach((a, n) => {
      const e = embeddingOf(a, net.denseValues);
      const le = Math.sqrt(dot(e, e));
      const cos = columns.map((col) => dot(col, e) / le);
      const y = cos.indexOf(Math.max(...cos));
      // ∂(s·cos θ_y)/∂e = s·(ŵ_y − cos θ_y·ê) / |e|.
      const dScore = e.map((v, d) => (64 * (columns[y]![d]! - (cos[y]! * v) / le)) / le);
      const expected = gradCam64(a, net.denseValues, dScore);
      expect(relativeError(result.maps[n]!, expected)).toBeLessThan(1e-5);
      if (expected.some((v) => v > 0 && v < 1)) distinct++;
    });
    // The maps are not trivial: each has values strictly between 0 and 1.
    expect(distinct).toBe(3);
  });

  it('explains a given identity when targets are set, and the pair cosine when partners are given', async () => {
    const net = network(53);
    const features = net.stages
      .features(net.images)
      .arraySync()
      .map((img) => img.flat(2));
    const model = {
      embed: (x: tf.Tensor4D) => net.stages.embedFeatures(net.stages.features(x)),
      head: net.head,
      stages: net.stages,
    };
    const targets = [4, 0, 2];
    const byTarget = await computeAttribution('grad-cam', model, net.images, { targets });
    const partnerEmbeddings = tf.tensor2d(sequence(3 * D, 57, 1), [3, D]);
    const byPair = await computeAttribution('grad-cam', model, net.images, { partnerEmbeddings });
    const partners = partnerEmbeddings.arraySync();
    features.forEach((a, n) => {
      const e = embeddingOf(a, net.denseValues);
      const le = Math.sqrt(dot(e, e));
      const col = Array.from({ length: D }, (_, d) => net.headValues[d * CLASSES + targets[n]!]!);
      const wy = col.map((v) => v / Math.sqrt(dot(col, col)));
      const cosY = dot(wy, e) / le;
      const dTarget = e.map((v, d) => (64 * (wy[d]! - (cosY * v) / le)) / le);
      expect(relativeError(byTarget.maps[n]!, gradCam64(a, net.denseValues, dTarget))).toBeLessThan(1e-5);
      const p = partners[n]!;
      const lp = Math.sqrt(dot(p, p));
      const cosP = dot(p, e) / (lp * le);
      const dPair = e.map((v, d) => (p[d]! / lp - (cosP * v) / le) / le);
      expect(relativeError(byPair.maps[n]!, gradCam64(a, net.denseValues, dPair))).toBeLessThan(1e-5);
    });
  });
});
