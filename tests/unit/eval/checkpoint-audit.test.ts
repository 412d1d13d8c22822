import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../main/data/index.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { checkpointDistances } from '../../../main/eval/embeddings.ts';
import { loadEmbedder } from '../../../main/models/embedder.ts';
import { writeTinyCheckpoint } from '../../helpers/tiny-checkpoint.ts';

let root: string;
let checkpoint: string;

beforeAll(async () => {
  await loadEngine({ backend: 'wasm' });
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-audit-'));
  checkpoint = await writeTinyCheckpoint(root);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('checkpoint distances', () => {
  it('are squared distances of normalised (image + mirror) embeddings, with the dataset folds, cached', async () => {
    const embedder = await loadEmbedder(checkpoint);
    const dataset = loadDataset('tests/fixtures/rfw-mini');
    const cacheDir = path.join(root, 'cache');
    const first = await checkpointDistances(embedder, checkpoint, dataset, { cacheDir });
    expect(first.cached).toBe(0);
    expect(first.groups.map((g) => [g.name, g.distances.length])).toEqual([
      ['Alpha', 20],
      ['Beta', 20],
    ]);
    expect(Array.from(first.groups[0]!.folds!)).toEqual(
      dataset.pairs.filter((p) => p.group === 'Alpha').map((p) => p.fold),
    );
    // by hand for the first pair
    const { loadAlignedImage, flipHorizontal } = await import('../../../main/data/index.ts');
    const pair = dataset.pairs[0]!;
    const embed = async (i: number) => {
      const x = await loadAlignedImage(dataset.images[i]!, 32);
      const e = tf.tidy(() =>
        tf.add(
          embedder.model.embed(tf.tensor4d(x, [1, 32, 32, 3])),
          embedder.model.embed(tf.tensor4d(flipHorizontal(x, 32), [1, 32, 32, 3])),
        ),
      );
      const v = Array.from(e.dataSync());
      const n = Math.hypot(...v);
      return v.map((c) => c / n);
    };
    const [a, b] = [await embed(pair.a), await embed(pair.b)];
    const expected = a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0);
    expect(first.groups[0]!.distances[0]).toBeCloseTo(expected, 5);
    const second = await checkpointDistances(embedder, checkpoint, dataset, { cacheDir });
    expect(second.cached).toBe(new Set(dataset.pairs.flatMap((p) => [p.a, p.b])).size);
    expect(Array.from(second.groups[1]!.distances)).toEqual(Array.from(first.groups[1]!.distances));
    embedder.dispose();
  });
});

describe('gabn audit --checkpoint', () => {
  it('audits a checkpoint on an RFW set and records both inputs in the report', () => {
    const out = path.join(root, 'report.json');
    const run = spawnSync(
      process.execPath,
      [
        'bin/gabn.js',
        'audit',
        '--checkpoint',
        checkpoint,
        '--data',
        'tests/fixtures/rfw-mini',
        '--bootstrap',
        '50',
        '--out',
        out,
      ],
      { encoding: 'utf8', env: { ...process.env, GABN_CACHE_DIR: path.join(root, 'cli-cache') } },
    );
    expect(run.status).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.groups.map((g: { name: string }) => g.name)).toEqual(['Alpha', 'Beta']);
    expect(report.provenance.inputs.map((i: { role: string }) => i.role)).toEqual(['checkpoint', 'dataset']);
    expect(report.provenance.inputs[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).toContain(report.provenance.backend);
    expect(readdirSync(path.join(root, 'cli-cache', 'embeddings'))).toHaveLength(1);
  });
  it("puts each group's average face and attention map in the HTML report, and only the maps with --no-faces", () => {
    const html = path.join(root, 'report.html');
    const bare = path.join(root, 'bare.html');
    const args = [
      'bin/gabn.js',
      'audit',
      '--checkpoint',
      checkpoint,
      '--data',
      'tests/fixtures/rfw-mini',
      '--bootstrap',
      '0',
      '--attention-images',
      '2',
    ];
    expect(spawnSync(process.execPath, [...args, '--out', html], { encoding: 'utf8' }).status).toBe(0);
    expect(
      spawnSync(process.execPath, [...args, '--no-faces', '--out', bare], { encoding: 'utf8' }).status,
    ).toBe(0);
    expect(readFileSync(html, 'utf8').match(/data:image\/png/g)).toHaveLength(4);
    const withoutFaces = readFileSync(bare, 'utf8');
    expect(withoutFaces.match(/data:image\/png/g)).toHaveLength(2);
    expect(withoutFaces).not.toMatch(/average face of/);
  });
  it('says what is missing', () => {
    const run = spawnSync(
      process.execPath,
      ['bin/gabn.js', 'audit', '--checkpoint', checkpoint, '--out', path.join(root, 'x.json')],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--checkpoint needs --data/);
  });
});
