/**
 * The embeddings of every image of a dataset under a checkpoint, for any external tool: aligned and
 * flip-summed exactly as the audit embeds them (main/eval/embeddings.ts), or raw (the aligned image
 * alone), written as `.npy` (float32 [images, embedding size]) or `.csv` (one row per image), with a
 * JSON side file `<out>.json` naming each row's image. Embeddings are not L2-normalised. Images that
 * cannot be read are listed in the side file and have no row. Both files are written atomically.
 */
import path from 'node:path';
import { writeFileAtomic } from '../../base/atomic-files.ts';
import { GabnError } from '../../base/errors.ts';
import { npyFloat32 } from '../../base/npy.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { loadEngine } from '../../engine/index.ts';
import { embedImages } from '../../eval/embeddings.ts';
import { loadEmbedder } from '../../models/embedder.ts';

export interface EmbedRequest {
  readonly checkpoint: string;
  readonly data: string;
  /** `.npy` or `.csv`. */
  readonly out: string;
  /** The aligned image alone, without its mirror image's embedding. */
  readonly raw?: boolean;
  readonly batchSize?: number;
  /** Embedding cache (the audit's by default); null: none. */
  readonly cacheDir?: string | null;
}

export interface EmbedOutcome {
  readonly out: string;
  readonly sideFile: string;
  readonly images: number;
  readonly embeddingSize: number;
  readonly failed: { file: string; message: string }[];
  readonly cached: number;
}

export function sideFileOf(out: string): string {
  return `${out}.json`;
}

export async function embedDataset(
  request: EmbedRequest,
  hooks: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<EmbedOutcome> {
  const ext = path.extname(request.out).toLowerCase();
  if (ext !== '.npy' && ext !== '.csv') {
    throw new GabnError('usage', `--out '${request.out}' is neither .npy nor .csv`, {
      expected: 'a file name ending in .npy (float32 matrix) or .csv',
    });
  }
  await loadEngine();
  const dataset = loadDataset(request.data);
  const embedder = await loadEmbedder(request.checkpoint);
  try {
    const indices = dataset.images.map((_, i) => i);
    const { embeddings, failed, cached } = await embedImages(
      embedder,
      request.checkpoint,
      dataset.images,
      indices,
      {
        flip: request.raw !== true,
        ...(request.batchSize === undefined ? {} : { batchSize: request.batchSize }),
        ...(request.cacheDir === undefined ? {} : { cacheDir: request.cacheDir }),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
        ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
      },
    );
    const rows = indices.filter((i) => embeddings.has(i));
    const d = embedder.embeddingSize;
    const matrix = new Float32Array(rows.length * d);
    rows.forEach((index, row) => {
      matrix.set(embeddings.get(index)!, row * d);
    });
    const images = rows.map((index, row) => {
      const image = dataset.images[index]!;
      return { row, id: index, path: image.relative, identity: image.identity, group: image.group };
    });
    if (ext === '.npy') await writeFileAtomic(request.out, npyFloat32(matrix, [rows.length, d]));
    else {
      const header = ['id', 'path', 'identity', 'group', ...Array.from({ length: d }, (_, k) => `e${k}`)];
      const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
      const lines = images.map((im, row) =>
        [
          im.id,
          quote(im.path),
          quote(im.identity),
          quote(im.group),
          ...matrix.subarray(row * d, (row + 1) * d),
        ].join(','),
      );
      await writeFileAtomic(request.out, `${[header.join(','), ...lines].join('\n')}\n`);
    }
    const sideFile = sideFileOf(request.out);
    const side = {
      checkpoint: path.resolve(request.checkpoint),
      architecture: embedder.architecture,
      data: path.resolve(request.data),
      embedding:
        request.raw === true
          ? 'raw: the aligned image alone'
          : 'the aligned image plus its mirror image (as the audit)',
      alignment: `the ArcFace 5-point template at ${embedder.inputSize}x${embedder.inputSize} where the dataset has landmarks, as the audit`,
      normalised: false,
      shape: [rows.length, d],
      images,
      failed,
    };
    await writeFileAtomic(sideFile, `${JSON.stringify(side, null, 2)}\n`);
    return { out: request.out, sideFile, images: rows.length, embeddingSize: d, failed, cached };
  } finally {
    embedder.dispose();
  }
}
