/**
 * The sharded audit without a queue: the shards a dataset is cut into (every checkpoint × group ×
 * range, covering each group's images once), each embedded into a cache of its own, merged, and the
 * audit run once on the merged cache writes the report of the audit that embedded everything itself.
 * The queue's workers run the same shards (queue.test.ts); here they run in this process.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../main/data/load-dataset.ts';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../../../main/data/synth/generate.ts';
import { runAudit } from '../../../main/usecases/audit/run-audit.ts';
import {
  embedAuditShard,
  groupImages,
  mergeEmbeddingCaches,
  planAuditShards,
} from '../../../main/usecases/audit/shards.ts';
import { writeTinyCheckpoint } from '../../helpers/tiny-checkpoint.ts';

let root: string;
let rfw: string;
let checkpoint: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-shards-'));
  await generateSyntheticDataset(
    path.join(root, 'synthetic'),
    { ...DEFAULT_SYNTH, seed: 8, ids: 20, images: 2, trainIds: 0, size: 32 },
    { force: true },
  );
  rfw = path.join(root, 'synthetic', 'rfw');
  checkpoint = await writeTinyCheckpoint(root, ['African', 'Asian', 'Caucasian', 'Indian']);
}, 120_000);

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

describe('a sharded audit', () => {
  it("cuts every group's images into ranges that cover each image once", () => {
    const dataset = loadDataset(rfw);
    const shards = planAuditShards(dataset, [checkpoint, 'other.gabn'], 10);
    for (const c of [checkpoint, 'other.gabn'])
      for (const group of dataset.groups) {
        const ranges = shards.filter((s) => s.checkpoint === c && s.group === group);
        const total = groupImages(dataset, group).length;
        expect(ranges.map((s) => s.first)).toEqual(
          Array.from({ length: Math.ceil(total / 10) }, (_, k) => 10 * k),
        );
        expect(ranges.reduce((n, s) => n + s.count, 0)).toBe(total);
        expect(ranges.every((s) => s.count >= 1 && s.count <= 10)).toBe(true);
      }
    expect(() => planAuditShards(dataset, [checkpoint], 0)).toThrow(/images per shard 0/);
  });

  it('merges the shards through the embedding cache into the report of the audit in one piece', async () => {
    const dataset = loadDataset(rfw);
    const shards = planAuditShards(dataset, [checkpoint], 15);
    expect(shards.length).toBeGreaterThan(dataset.groups.length);
    const caches = shards.map((_, k) => path.join(root, 'shards', String(k)));
    let images = 0;
    for (const [k, shard] of shards.entries()) {
      const done = await embedAuditShard(dataset, shard, { flip: true, cacheDir: caches[k]! });
      expect(done.failed).toBe(0);
      images += done.images;
    }
    const merged = path.join(root, 'merged');
    expect(mergeEmbeddingCaches(caches, merged)).toBe(images);
    // Merging again copies nothing: an embedding is keyed by its image's bytes.
    expect(mergeEmbeddingCaches(caches, merged)).toBe(0);
    expect(files(merged)).toHaveLength(images);
    const request = { checkpoints: [checkpoint], data: rfw, bootstrap: 25, seed: 2, commandLine: [] };
    const sharded = await runAudit({ ...request, cacheDir: merged, out: [path.join(root, 'sharded.json')] });
    // The merged cache served every embedding: the audit added none.
    expect(files(merged)).toHaveLength(images);
    const whole = await runAudit({
      ...request,
      cacheDir: path.join(root, 'fresh'),
      out: [path.join(root, 'whole.json')],
    });
    const { provenance: _a, ...a } = sharded.reports[0]!;
    const { provenance: _b, ...b } = whole.reports[0]!;
    expect(a).toEqual(b);
    expect(a.groups.map((g) => g.name)).toEqual(dataset.groups);
  }, 120_000);

  it('refuses a shard outside its group; a shard that left nothing leaves its images to the audit', async () => {
    const dataset = loadDataset(rfw);
    await expect(
      embedAuditShard(
        dataset,
        { checkpoint, group: dataset.groups[0]!, first: 20, count: 50 },
        {
          flip: true,
          cacheDir: path.join(root, 'refused'),
        },
      ),
    ).rejects.toThrow(/no images 20\.\.69/);
    // A shard that left nothing (it failed before its first image) leaves its images to the audit.
    expect(mergeEmbeddingCaches([path.join(root, 'no-such-shard')], path.join(root, 'x'))).toBe(0);
  });
});
