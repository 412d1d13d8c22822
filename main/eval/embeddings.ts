/**
 * Embeddings for audits, as insightface computes them for verification: the embedding of the aligned
 * image plus that of its mirror image (switchable), batched, then compared as the squared Euclidean
 * distance of the L2-normalised sums (2 − 2·cosine).
 *
 * Embeddings are cached on disk per checkpoint (the hash of its files) and per image (the hash of the
 * file's bytes and its landmarks), so a second audit of the same checkpoint is instant and a changed
 * image or checkpoint is never served a stale embedding.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicSync } from '../base/atomic-files.ts';
import { GabnError } from '../base/errors.ts';
import { checkUntrustedFile, readUntrustedFile } from '../base/untrusted-files.ts';
import type { Dataset, FaceImage } from '../data/dataset.ts';
import { flipHorizontal, loadAlignedImage } from '../data/image.ts';
import { tf } from '../engine/tf.ts';
import type { Embedder } from '../models/embedder.ts';
import type { GroupPairs } from './audit-figures.ts';
import { l2Normalize, squaredDistance } from './pair-distances.ts';

export interface EmbeddingOptions {
  /** Add the mirror image's embedding (insightface's default for verification). */
  readonly flip?: boolean;
  readonly batchSize?: number;
  /** Where embeddings are cached; null: no cache. Default $GABN_CACHE_DIR or ~/.cache/gabn-studio. */
  readonly cacheDir?: string | null;
  /** checkpointHash(checkpointDir), when the caller has it (a caller embedding in pieces hashes once). */
  readonly checkpointHash?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

export function defaultCacheDir(): string {
  return process.env.GABN_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'gabn-studio');
}

/** The hash of a checkpoint's files (names and bytes), which names its embedding cache. */
/** The largest checkpoint file hashed: one Node buffer. */
const MAX_CHECKPOINT_FILE_BYTES = 2 * 1024 ** 3;

export function checkpointHash(dir: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json') && !name.endsWith('.bin')) continue;
    // Only what a checkpoint may hold: regular files inside its folder (loading refuses the rest).
    const file = path.join(dir, name);
    const options = { what: name, maxBytes: MAX_CHECKPOINT_FILE_BYTES, inside: dir };
    try {
      checkUntrustedFile(file, options);
    } catch {
      continue;
    }
    hash.update(name);
    hash.update(readUntrustedFile(file, options));
  }
  return hash.digest('hex');
}

function imageKey(image: FaceImage): string {
  return createHash('sha256')
    .update(readFileSync(image.path))
    .update(JSON.stringify(image.landmarks ?? null))
    .digest('hex');
}

export interface EmbeddedImages {
  /** By image index; absent for images that could not be read. */
  readonly embeddings: Map<number, Float32Array>;
  readonly failed: { file: string; message: string }[];
  /** How many came from the cache. */
  readonly cached: number;
}

export async function embedImages(
  embedder: Embedder,
  checkpointDir: string,
  images: readonly FaceImage[],
  indices: readonly number[],
  options: EmbeddingOptions = {},
): Promise<EmbeddedImages> {
  const flip = options.flip ?? true;
  const size = embedder.inputSize;
  const batchSize = options.batchSize ?? 16;
  const cacheRoot = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const cacheDir =
    cacheRoot === null
      ? null
      : path.join(
          cacheRoot,
          'embeddings',
          options.checkpointHash ?? checkpointHash(checkpointDir),
          `${flip ? 'flip' : 'plain'}-${size}`,
        );
  if (cacheDir !== null) mkdirSync(cacheDir, { recursive: true });
  const embeddings = new Map<number, Float32Array>();
  const failed: { file: string; message: string }[] = [];
  const pending: { index: number; key: string }[] = [];
  let cached = 0;
  for (const index of indices) {
    const image = images[index]!;
    let key: string;
    try {
      key = imageKey(image);
    } catch (error) {
      failed.push({ file: image.relative, message: `cannot read the image: ${(error as Error).message}` });
      continue;
    }
    const file = cacheDir === null ? null : path.join(cacheDir, `${key}.f32`);
    if (file !== null && existsSync(file)) {
      const bytes = readFileSync(file);
      if (bytes.byteLength === embedder.embeddingSize * 4) {
        embeddings.set(
          index,
          new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
        );
        cached++;
        continue;
      }
    }
    pending.push({ index, key });
  }
  let done = cached + failed.length;
  options.onProgress?.(done, indices.length);
  for (let start = 0; start < pending.length; start += batchSize) {
    if (options.signal?.aborted) throw new GabnError('cancelled', 'embedding was cancelled');
    const chunk = pending.slice(start, start + batchSize);
    const loaded: { index: number; key: string; x: Float32Array }[] = [];
    for (const item of chunk) {
      try {
        loaded.push({ ...item, x: await loadAlignedImage(images[item.index]!, size) });
      } catch (error) {
        if (!(error instanceof GabnError)) throw error;
        failed.push({ file: images[item.index]!.relative, message: error.message });
      }
    }
    if (loaded.length > 0) {
      const values = tf.tidy(() => {
        const data = new Float32Array(loaded.length * size * size * 3);
        loaded.forEach((l, i) => {
          data.set(l.x, i * size * size * 3);
        });
        const x = tf.tensor4d(data, [loaded.length, size, size, 3]);
        let e = embedder.model.embed(x);
        if (flip) {
          const mirrored = new Float32Array(data.length);
          loaded.forEach((l, i) => {
            mirrored.set(flipHorizontal(l.x, size), i * size * size * 3);
          });
          e = tf.add(e, embedder.model.embed(tf.tensor4d(mirrored, [loaded.length, size, size, 3])));
        }
        return e;
      });
      const flat = (await values.data()) as Float32Array;
      values.dispose();
      loaded.forEach((l, i) => {
        const vector = flat.slice(i * embedder.embeddingSize, (i + 1) * embedder.embeddingSize);
        embeddings.set(l.index, vector);
        if (cacheDir !== null) {
          writeFileAtomicSync(
            path.join(cacheDir, `${l.key}.f32`),
            new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength),
          );
        }
      });
    }
    done += chunk.length;
    options.onProgress?.(done, indices.length);
  }
  return { embeddings, failed, cached };
}

export interface CheckpointDistances {
  readonly groups: GroupPairs[];
  readonly failed: { file: string; message: string }[];
  /** Pairs left out because one of their images could not be read. */
  readonly droppedPairs: number;
  readonly cached: number;
}

/** Per-group pair distances of a dataset under a checkpoint, with the dataset's folds. */
export async function checkpointDistances(
  embedder: Embedder,
  checkpointDir: string,
  dataset: Dataset,
  options: EmbeddingOptions = {},
): Promise<CheckpointDistances> {
  if (dataset.pairs.length === 0) {
    throw new GabnError('dataset', 'the dataset has no verification pairs', {
      file: dataset.root,
      expected: 'an RFW test set or a pairs CSV',
    });
  }
  const used = [...new Set(dataset.pairs.flatMap((p) => [p.a, p.b]))].sort((a, b) => a - b);
  const { embeddings, failed, cached } = await embedImages(
    embedder,
    checkpointDir,
    dataset.images,
    used,
    options,
  );
  let droppedPairs = 0;
  const groups: GroupPairs[] = dataset.groups.map((name) => {
    const scored = groupPairDistances(dataset, name, embeddings);
    droppedPairs += scored.dropped;
    return scored.pairs;
  });
  return { groups: groups.filter((g) => g.distances.length > 0), failed, droppedPairs, cached };
}

export interface ScoredGroup {
  readonly pairs: GroupPairs;
  /** The dataset's index of each scored pair, in the order of `pairs`. */
  readonly pairIndices: Int32Array;
  /** Pairs left out because an image has no embedding (it could not be read). */
  readonly dropped: number;
}

/**
 * The distances of `group`'s pairs from the embeddings of their images (flip-summed or not, as
 * embedded), each L2-normalised, with the dataset's folds; pairs whose images lack an embedding are
 * left out.
 */
export function groupPairDistances(
  dataset: Dataset,
  group: string,
  embeddings: ReadonlyMap<number, Float32Array>,
): ScoredGroup {
  const normalised = new Map<number, Float64Array>();
  const unit = (index: number) => {
    let v = normalised.get(index);
    if (v === undefined) {
      v = l2Normalize(embeddings.get(index)!);
      normalised.set(index, v);
    }
    return v;
  };
  const all = dataset.pairs.flatMap((p, i) => (p.group === group ? [i] : []));
  const kept = all.filter((i) => embeddings.has(dataset.pairs[i]!.a) && embeddings.has(dataset.pairs[i]!.b));
  const pairs = kept.map((i) => dataset.pairs[i]!);
  return {
    pairs: {
      name: group,
      distances: Float64Array.from(pairs, (p) => squaredDistance(unit(p.a), unit(p.b))),
      same: Uint8Array.from(pairs, (p) => (p.same ? 1 : 0)),
      folds: Int32Array.from(pairs, (p) => p.fold),
      images: pairs.map((p) => ({ a: dataset.images[p.a]!.relative, b: dataset.images[p.b]!.relative })),
    },
    pairIndices: Int32Array.from(kept),
    dropped: all.length - kept.length,
  };
}
