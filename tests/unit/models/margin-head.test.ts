import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import {
  arcfaceTarget,
  cosines,
  createMarginHead,
  disposeParams,
  marginLogits,
  PAPER_MARGIN,
  scaledLogits,
} from '../../../main/models/index.ts';

const M = 0.35;
const THRESHOLD = Math.cos(Math.PI - M);

describe('margin head', () => {
  it("defaults to the paper's ArcFace s = 64, m = 0.35", () => {
    expect(PAPER_MARGIN).toEqual({ kind: 'arcface', s: 64, m: 0.35 });
  });

  it('cos θ is the cosine between the embedding and each class centre, whatever their norms', async () => {
    await loadEngine({ backend: 'cpu' });
    const head = createMarginHead(4, 3, 1);
    const e = tf.tensor2d([
      [1, 2, 3, 4],
      [-5, 0, 0.5, 2],
    ]);
    const cos = cosines(head, e).arraySync();
    const w = head.params.weight!.arraySync() as number[][];
    const rows = e.arraySync();
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const col = w.map((r) => r[j]!);
        const dot = rows[i]!.reduce((s, v, k) => s + v * col[k]!, 0);
        const norm = Math.hypot(...rows[i]!) * Math.hypot(...col);
        expect(cos[i]![j]).toBeCloseTo(dot / norm, 6);
      }
    }
    // class centres start from N(0, 0.01²), as insightface's partial FC.
    const all = head.params.weight!.dataSync() as Float32Array;
    const std = Math.sqrt(all.reduce((s, v) => s + v * v, 0) / all.length);
    expect(std).toBeGreaterThan(0.004);
    expect(std).toBeLessThan(0.02);
    disposeParams(head.params);
  });

  it('ArcFace: s·cos(θ_y + m) on the target above cos(π − m), the linear fallback below, other classes s·cos θ', async () => {
    await loadEngine({ backend: 'cpu' });
    const targets = [0.99, 0.5, 0, -0.5, -0.9, THRESHOLD + 1e-3, THRESHOLD - 1e-3, -0.99, 1, -1];
    const cos = tf.tensor2d(targets.map((t) => [t, 0.25]));
    const logits = marginLogits(
      cos,
      targets.map(() => 0),
      { kind: 'arcface', s: 64, m: M },
    ).arraySync();
    targets.forEach((t, i) => {
      const f32 = Math.fround(t);
      const want = f32 > THRESHOLD ? Math.cos(Math.acos(f32) + M) : f32 - Math.sin(Math.PI - M) * M;
      expect(logits[i]![0]! / 64, `cos θ = ${t}`).toBeCloseTo(want, 5);
      expect(logits[i]![1]).toBeCloseTo(64 * 0.25, 5);
    });
    // At the threshold the branches give -1 (θ + m = π) and -cos m - m·sin m: insightface's fallback
    // is not continuous there; it jumps by cos m + m·sin m - 1 (0.059 at m = 0.35), reproduced as is.
    const at = tf.tidy(() => arcfaceTarget(tf.tensor1d([THRESHOLD + 1e-6, THRESHOLD - 1e-6]), M).dataSync());
    expect(at[0]).toBeCloseTo(-1, 4);
    expect(at[1]).toBeCloseTo(-Math.cos(M) - M * Math.sin(M), 4);
  });

  it('CosFace subtracts m from the target cosine; label −1 leaves a row without margin', async () => {
    await loadEngine({ backend: 'cpu' });
    const cos = tf.tensor2d([
      [0.2, 0.7, -0.1],
      [0.3, 0.3, 0.3],
    ]);
    const cosface = marginLogits(cos, [1, -1], { kind: 'cosface', s: 30, m: 0.4 }).arraySync();
    expect(cosface[0]![0]).toBeCloseTo(30 * 0.2, 5);
    expect(cosface[0]![1]).toBeCloseTo(30 * (0.7 - 0.4), 5);
    expect(cosface[1]).toEqual(cosface[1]!.map(() => Math.fround(30 * Math.fround(0.3))));
    const arc = marginLogits(cos, tf.tensor1d([2, -1], 'int32'), {
      kind: 'arcface',
      s: 30,
      m: 0.4,
    }).arraySync();
    expect(arc[1]![0]).toBeCloseTo(9, 5);
    expect(arc[0]![2]).toBeCloseTo(30 * Math.cos(Math.acos(Math.fround(-0.1)) + 0.4), 4);
    expect(scaledLogits(cos, 64).arraySync()[0]![1]).toBeCloseTo(64 * 0.7, 4);
  });

  it('keeps gradients finite when a non-target cosine is exactly ±1, on cpu and wasm', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await loadEngine({ backend });
      const cos = tf.tensor2d([
        [0.3, 1, -1],
        [1, 0.2, 0.1],
      ]);
      const g = tf
        .grad((c: tf.Tensor) => tf.sum(marginLogits(c as tf.Tensor2D, [0, 2], PAPER_MARGIN)))(cos)
        .arraySync() as number[][];
      expect(g.flat().every(Number.isFinite), backend).toBe(true);
      // d/dcos of s·cos θ on non-targets is s.
      expect(g[0]![1]).toBeCloseTo(64, 4);
      // target: s·(cos m + sin m · cos θ / sin θ)
      const c0 = Math.fround(0.3);
      expect(g[0]![0]).toBeCloseTo(64 * (Math.cos(M) + (Math.sin(M) * c0) / Math.sqrt(1 - c0 * c0)), 2);
    }
  });
});
