import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alignedPixels, checkDataset, loadDataset } from '../../../main/data/index.ts';
import { generateSyntheticDataset, type SynthOptions } from '../../../main/data/synth/generate.ts';

const TINY: SynthOptions = {
  seed: 7,
  ids: 20,
  images: 3,
  trainIds: 12,
  trainImages: 2,
  trainMix: [0.4, 0.3, 0.2, 0.1],
  size: 64,
};
let root: string;

function hashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(path.relative(dir, full), createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-synth-'));
  await generateSyntheticDataset(path.join(root, 'one'), TINY);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('synthetic dataset', () => {
  it('is byte-identical for the same seed and options, and differs for another seed', async () => {
    await generateSyntheticDataset(path.join(root, 'two'), TINY);
    const one = hashes(path.join(root, 'one'));
    const two = hashes(path.join(root, 'two'));
    expect(one.size).toBe(4 * 20 * 3 + 12 * 2 + 4 + 4 * 4 + 2);
    expect([...two]).toEqual([...one]);
    await generateSyntheticDataset(path.join(root, 'other'), { ...TINY, seed: 8 });
    const other = hashes(path.join(root, 'other'));
    expect(other.get('synth.json')).not.toBe(one.get('synth.json'));
    expect(other.get('train/manifest.csv')).not.toBe(one.get('train/manifest.csv'));
  });

  it('passes the dataset check in the RFW and BUPT layouts: 4 groups, 10 folds, no problems', async () => {
    const rfw = await checkDataset(path.join(root, 'one', 'rfw'));
    expect(rfw.format).toBe('rfw');
    expect(rfw.groups.map((g) => g.group)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
    expect(
      rfw.groups.every(
        (g) => g.folds === 10 && g.perFold.every((f) => f.positives === f.negatives && f.positives > 0),
      ),
    ).toBe(true);
    expect(rfw.problems).toEqual([]);
    const train = await checkDataset(path.join(root, 'one', 'train'));
    expect(train.problems).toEqual([]);
    expect(train.groups.map((g) => g.identities)).toEqual([5, 4, 2, 1]);
  });

  it('keeps training identities apart from test identities', () => {
    const test = new Set(loadDataset(path.join(root, 'one', 'rfw')).images.map((i) => i.identity));
    const train = new Set(loadDataset(path.join(root, 'one', 'train')).images.map((i) => i.identity));
    expect([...train].filter((id) => test.has(id))).toEqual([]);
  });

  it('writes landmarks inside the image, in the template order', () => {
    const d = loadDataset(path.join(root, 'one', 'rfw'));
    for (const image of d.images) {
      const [lx, ly, rx, ry, nx, ny, mlx, mly, mrx, mry] = image.landmarks!;
      expect(Math.min(...image.landmarks!)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...image.landmarks!)).toBeLessThan(TINY.size);
      expect(lx).toBeLessThan(rx);
      expect(mlx).toBeLessThan(mrx);
      expect(Math.max(ly, ry)).toBeLessThan(ny + 2);
      expect(ny).toBeLessThan(Math.min(mly, mry));
      expect(nx).toBeGreaterThan(lx);
      expect(nx).toBeLessThan(rx);
    }
  });

  it('makes each identity more like itself than like others (aligned grey pixels)', async () => {
    const d = loadDataset(path.join(root, 'one', 'rfw'));
    const grey = new Map<string, Float64Array[]>();
    for (const image of d.images.filter((i) => i.group === 'group-a')) {
      const rgb = await alignedPixels(image, 32);
      const g = new Float64Array(32 * 32);
      for (let p = 0; p < g.length; p++) g[p] = (rgb[3 * p]! + rgb[3 * p + 1]! + rgb[3 * p + 2]!) / 3;
      grey.set(image.identity, [...(grey.get(image.identity) ?? []), g]);
    }
    const distance = (a: Float64Array, b: Float64Array) =>
      Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
    const people = [...grey.values()];
    let intra = 0;
    let intraN = 0;
    let inter = 0;
    let interN = 0;
    people.forEach((faces, i) => {
      for (let a = 0; a < faces.length; a++) {
        for (let b = a + 1; b < faces.length; b++) {
          intra += distance(faces[a]!, faces[b]!);
          intraN++;
        }
        for (const other of people.slice(i + 1)) {
          inter += distance(faces[a]!, other[0]!);
          interN++;
        }
      }
    });
    expect(intra / intraN).toBeLessThan(0.9 * (inter / interN));
  });

  it('refuses a non-empty output folder without --force and bad options', async () => {
    await expect(generateSyntheticDataset(path.join(root, 'one'), TINY)).rejects.toThrow(
      /exists and is not empty/,
    );
    await expect(generateSyntheticDataset(path.join(root, 'x'), { ...TINY, ids: 5 })).rejects.toThrow(
      /at least 20 test identities/,
    );
  });
});
