import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  ARCFACE_TEMPLATE,
  applyAffine,
  similarityTransform,
  templateFor,
  warpAffine,
} from '../../../main/data/align.ts';
import {
  AlignedImageCache,
  flipHorizontal,
  loadAlignedImage,
  normalisePixels,
} from '../../../main/data/index.ts';

describe('similarity transform (Umeyama)', () => {
  it('recovers a known rotation, scale and translation exactly', () => {
    const angle = 0.3;
    const scale = 1.7;
    const [tx, ty] = [12.5, -4.25];
    const from = [10, 20, 40, 22, 25, 35, 14, 50, 37, 52];
    const to = from.map((_, i) => {
      const x = from[i - (i % 2)]!;
      const y = from[i - (i % 2) + 1]!;
      return i % 2 === 0
        ? scale * (Math.cos(angle) * x - Math.sin(angle) * y) + tx
        : scale * (Math.sin(angle) * x + Math.cos(angle) * y) + ty;
    });
    const m = similarityTransform(from, to);
    expect(m[0]).toBeCloseTo(scale * Math.cos(angle), 12);
    expect(m[3]).toBeCloseTo(scale * Math.sin(angle), 12);
    expect(m[2]).toBeCloseTo(tx, 10);
    expect(m[5]).toBeCloseTo(ty, 10);
  });

  const python = '/usr/bin/python3';
  const numpy =
    existsSync(python) && spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
  if (!numpy)
    console.log('skipping the numpy Umeyama comparison: /usr/bin/python3 with numpy is not available');
  it.skipIf(!numpy)('equals the general Umeyama algorithm (numpy SVD) on noisy landmarks', () => {
    const from = [30.1, 40.2, 70.3, 41.8, 50.2, 60.9, 33.3, 80.4, 68.8, 79.1];
    const script = `
import numpy as np, json, sys
src = np.array(${JSON.stringify(from)}).reshape(5, 2)
dst = np.array(${JSON.stringify([...ARCFACE_TEMPLATE])}).reshape(5, 2)
mu_s, mu_d = src.mean(0), dst.mean(0)
s, d = src - mu_s, dst - mu_d
cov = d.T @ s / 5
U, S, Vt = np.linalg.svd(cov)
D = np.eye(2)
if np.linalg.det(U) * np.linalg.det(Vt) < 0: D[1, 1] = -1
R = U @ D @ Vt
c = np.trace(np.diag(S) @ D) / (s ** 2).sum(1).mean()
t = mu_d - c * R @ mu_s
print(json.dumps([c * R[0, 0], c * R[0, 1], t[0], c * R[1, 0], c * R[1, 1], t[1]]))`;
    const run = spawnSync(python, ['-c', script], { encoding: 'utf8' });
    const reference = JSON.parse(run.stdout) as number[];
    similarityTransform(from, ARCFACE_TEMPLATE).forEach((v, i) => {
      expect(v).toBeCloseTo(reference[i]!, 10);
    });
  });
});

describe('warp and pipeline', () => {
  it('moves a bright dot at a landmark onto the template point', () => {
    const width = 200;
    const height = 180;
    const source = new Uint8Array(width * height * 3);
    const landmarks = [70, 80, 130, 78, 100, 110, 75, 140, 125, 142] as const;
    // a 3x3 white dot on the nose
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++)
        source.fill(255, ((110 + dy) * width + 100 + dx) * 3, ((110 + dy) * width + 100 + dx) * 3 + 3);
    const m = similarityTransform(landmarks, templateFor(112));
    const out = warpAffine(source, width, height, m, 112);
    let best = 0;
    let at = 0;
    for (let i = 0; i < 112 * 112; i++) if (out[i * 3]! > best) [best, at] = [out[i * 3]!, i];
    const [nx, ny] = applyAffine(m, 100, 110);
    expect(Math.abs((at % 112) - nx)).toBeLessThanOrEqual(1);
    expect(Math.abs(Math.floor(at / 112) - ny)).toBeLessThanOrEqual(1);
    expect(nx).toBeCloseTo(56.0252, 0);
    // outside the source reads as 0
    expect(Math.max(...out.slice(0, 3))).toBe(0);
  });

  it('normalises as the paper does and flips horizontally', () => {
    expect(Array.from(normalisePixels(Uint8Array.from([0, 127, 255])))).toEqual([
      -127.5 / 128,
      -0.5 / 128,
      127.5 / 128,
    ]);
    const image = Float32Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    expect(Array.from(flipHorizontal(image, 2))).toEqual([2, 2, 2, 1, 1, 1, 4, 4, 4, 3, 3, 3]);
  });

  it('loads aligned faces at any size, and caches them within a byte budget', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-align-'));
    try {
      const file = path.join(dir, 'face.jpg');
      writeFileSync(
        file,
        await sharp({
          create: { width: 120, height: 100, channels: 3, background: { r: 200, g: 100, b: 50 } },
        })
          .jpeg()
          .toBuffer(),
      );
      const image = {
        path: file,
        relative: 'face.jpg',
        identity: 'a',
        group: 'g',
        landmarks: [40, 40, 80, 40, 60, 60, 45, 80, 75, 80] as const,
      };
      const x = await loadAlignedImage(image, 56);
      expect(x).toHaveLength(56 * 56 * 3);
      const centre = (28 * 56 + 28) * 3;
      expect(x[centre]! * 128 + 127.5).toBeCloseTo(200, -1);
      const plain = await loadAlignedImage({ ...image, landmarks: undefined }, 32);
      expect(plain).toHaveLength(32 * 32 * 3);
      const cache = new AlignedImageCache(56 * 56 * 3 * 4 + 10);
      await cache.get(image, 56);
      await cache.get(image, 56);
      expect([cache.hits, cache.misses]).toEqual([1, 1]);
      await cache.get({ ...image, path: file, identity: 'b' }, 48);
      expect(cache.size).toBe(1);
      expect(cache.usedBytes).toBeLessThanOrEqual(cache.maxBytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
