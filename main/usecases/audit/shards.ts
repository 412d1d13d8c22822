/**
 * A sharded audit: the embeddings of a large dataset split into shards, each one checkpoint's
 * embeddings of one group's images in an index range, so that separate jobs (on separate machines)
 * compute them. Each shard fills an embedding cache of its own (eval/embeddings.ts's layout, keyed
 * by checkpoint and image bytes); the audit copies the shards' caches into its own and then runs
 * once, reading every embedding from there, so its protocol and report are those of the audit in
 * one process.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../base/atomic-files.ts';
import { GabnError } from '../../base/errors.ts';
import type { Dataset } from '../../data/dataset.ts';
import { loadEngine } from '../../engine/index.ts';
import { checkpointHash, embedImages } from '../../eval/embeddings.ts';
import { loadEmbedder } from '../../models/embedder.ts';

export interface AuditShard {
  readonly checkpoint: string;
  readonly group: string;
  /** Into `groupImages(dataset, group)`. */
  readonly first: number;
  readonly count: number;
}

/** The images a group's pairs use, by index, in ascending order: the order its shards cut. */
export function groupImages(dataset: Dataset, group: string): number[] {
  const used = new Set<number>();
  for (const p of dataset.pairs) if (p.group === group) used.add(p.a).add(p.b);
  return [...used].sort((a, b) => a - b);
}

/** Every checkpoint × group × range of at most `imagesPerShard` images. */
export function planAuditShards(
  dataset: Dataset,
  checkpoints: readonly string[],
  imagesPerShard: number,
): AuditShard[] {
  if (!(Number.isInteger(imagesPerShard) && imagesPerShard >= 1))
    throw new GabnError('usage', `images per shard ${imagesPerShard}`, { expected: 'a whole number >= 1' });
  const shards: AuditShard[] = [];
  for (const checkpoint of checkpoints)
    for (const group of dataset.groups) {
      const total = groupImages(dataset, group).length;
      for (let first = 0; first < total; first += imagesPerShard)
        shards.push({ checkpoint, group, first, count: Math.min(imagesPerShard, total - first) });
    }
  return shards;
}

export interface ShardHooks {
  readonly flip: boolean;
  /** The cache this shard fills (the shard's run folder's). */
  readonly cacheDir: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Embeds one shard into `hooks.cacheDir`; what an earlier try of the shard cached is kept. */
export async function embedAuditShard(
  dataset: Dataset,
  shard: AuditShard,
  hooks: ShardHooks,
): Promise<{ images: number; cached: number; failed: number }> {
  const images = groupImages(dataset, shard.group);
  if (!dataset.groups.includes(shard.group) || shard.first + shard.count > images.length) {
    throw new GabnError(
      'usage',
      `no images ${shard.first}..${shard.first + shard.count - 1} in '${shard.group}'`,
      {
        file: dataset.root,
        expected: `a range within the group's ${images.length} images`,
      },
    );
  }
  await loadEngine();
  const embedder = await loadEmbedder(shard.checkpoint);
  try {
    const result = await embedImages(
      embedder,
      shard.checkpoint,
      dataset.images,
      images.slice(shard.first, shard.first + shard.count),
      {
        flip: hooks.flip,
        cacheDir: hooks.cacheDir,
        checkpointHash: checkpointHash(shard.checkpoint),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
        ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
      },
    );
    return { images: shard.count, cached: result.cached, failed: result.failed.length };
  } finally {
    embedder.dispose();
  }
}

/**
 * Copies every embedding of the caches `from` into the cache `into` (each file written atomically;
 * one already there is the same embedding, keyed by the same bytes). Returns how many were copied.
 * A shard that failed or was cancelled left part of its images, or none: the audit embeds those
 * itself, the same way, so its figures are the same.
 */
export function mergeEmbeddingCaches(from: readonly string[], into: string): number {
  let copied = 0;
  const copy = (source: string, target: string) => {
    for (const name of readdirSync(source)) {
      const file = path.join(source, name);
      const destination = path.join(target, name);
      if (statSync(file).isDirectory()) {
        mkdirSync(destination, { recursive: true });
        copy(file, destination);
      } else if (name.endsWith('.f32') && !existsSync(destination)) {
        writeFileAtomicSync(destination, readFileSync(file));
        copied++;
      }
    }
  };
  mkdirSync(into, { recursive: true });
  for (const dir of from) if (existsSync(dir)) copy(dir, into);
  return copied;
}
