import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../main/data/index.ts';
import { loadEngine } from '../../../main/engine/index.ts';
import { loadEmbedder } from '../../../main/models/embedder.ts';
import { extractAttention } from '../../../main/usecases/attention/attention-over-dataset.ts';
import { writeTinyCheckpoint } from '../../helpers/tiny-checkpoint.ts';

let root: string;
let checkpoint: string;

beforeAll(async () => {
  await loadEngine({ backend: 'wasm' });
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-gam-'));
  checkpoint = await writeTinyCheckpoint(root);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('attention over a dataset', () => {
  it('gives per-group statistics within [0, 1], average maps, and masks for every image', async () => {
    const embedder = await loadEmbedder(checkpoint);
    const dataset = loadDataset('tests/fixtures/rfw-mini');
    let seen = 0;
    const result = await extractAttention(embedder, dataset, {
      limit: 4,
      erase: { count: 2, maxHeight: 4, maxWidth: 4 },
      seed: 3,
      onImage: async (_image, face, map, rects) => {
        seen++;
        expect(face.pixels).toHaveLength(32 * 32 * 3);
        expect(Math.max(...map)).toBeCloseTo(1, 5);
        expect(rects).toHaveLength(2);
        // the hottest pixel is always inside a rectangle (GAM-SFRE's first centre)
        const top = map.indexOf(Math.max(...map));
        const [row, col] = [Math.floor(top / 32), top % 32];
        expect(
          rects.some(
            (r) => row >= r.top && row < r.top + r.height && col >= r.left && col < r.left + r.width,
          ),
        ).toBe(true);
      },
    });
    expect(seen).toBe(8);
    expect(result.method).toBe('gam');
    for (const g of result.groups) {
      expect(g.images).toBe(4);
      expect(g.massFraction.mean).toBeGreaterThan(0);
      expect(g.massFraction.mean).toBeLessThanOrEqual(0.5);
      expect(g.massFraction.interval.lower).toBeLessThanOrEqual(g.massFraction.mean);
      expect(g.massFraction.interval.upper).toBeGreaterThanOrEqual(g.massFraction.mean);
      expect(g.entropy.mean).toBeGreaterThan(0);
      expect(g.entropy.mean).toBeLessThanOrEqual(1);
      expect(g.averageMap).toHaveLength(32 * 32);
    }
    embedder.dispose();
  });
});

describe('pair GAM over a dataset', () => {
  it('pairs each image with its genuine partner and gives non-empty maps', async () => {
    const embedder = await loadEmbedder(checkpoint);
    const result = await extractAttention(embedder, loadDataset('tests/fixtures/rfw-mini'), {
      method: 'pair-gam',
      limit: 3,
      erase: { count: 1, maxHeight: 3, maxWidth: 3 },
      seed: 1,
    });
    expect(result.method).toBe('pair-gam');
    expect(result.groups.every((g) => g.images === 3 && g.empty === 0)).toBe(true);
    embedder.dispose();
  });
});

describe('gabn gam', () => {
  it('writes overlays, average maps and statistics, and refuses to overwrite', () => {
    const out = path.join(root, 'maps');
    const run = spawnSync(
      process.execPath,
      [
        'bin/gabn.js',
        'gam',
        '--checkpoint',
        checkpoint,
        '--data',
        'tests/fixtures/rfw-mini',
        '--limit',
        '3',
        '--out',
        out,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, GABN_BACKEND: 'wasm' },
      },
    );
    expect(run.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'Alpha',
      'Beta',
      'attention.json',
      'average-Alpha.png',
      'average-Beta.png',
      'average-gam.png',
    ]);
    // three of the nine Alpha images, spread over its three identities
    expect(readdirSync(path.join(out, 'Alpha'))).toEqual([
      'm.0a11_0001.png',
      'm.0a22_0001.png',
      'm.0shared_0001.png',
    ]);
    const json = JSON.parse(readFileSync(path.join(out, 'attention.json'), 'utf8'));
    expect(json.groups.map((g: { group: string; images: number }) => [g.group, g.images])).toEqual([
      ['Alpha', 3],
      ['Beta', 3],
    ]);
    expect(json.method).toBe('gam');
    const again = spawnSync(
      process.execPath,
      ['bin/gabn.js', 'gam', '--checkpoint', checkpoint, '--data', 'tests/fixtures/rfw-mini', '--out', out],
      { encoding: 'utf8' },
    );
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/exists and is not empty/);
    expect(existsSync(`${out}.partial-${again.pid}`)).toBe(false);
  });
  it('--no-faces writes no face images', () => {
    const out = path.join(root, 'private');
    const run = spawnSync(
      process.execPath,
      [
        'bin/gabn.js',
        'gam',
        '--checkpoint',
        checkpoint,
        '--data',
        'tests/fixtures/rfw-mini',
        '--limit',
        '2',
        '--no-faces',
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'attention.json',
      'average-Alpha.png',
      'average-Beta.png',
      'average-gam.png',
    ]);
  });
});
