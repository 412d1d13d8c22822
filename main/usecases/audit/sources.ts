/**
 * Where an audit's pair distances come from: a scores CSV from any framework, or a checkpoint's
 * embeddings of a dataset's pairs. Everything after a source is the same for both, and each source
 * names its inputs by hash so the report says exactly what was audited.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { sha256Hex } from '../../base/hashing.ts';
import type { Dataset } from '../../data/dataset.ts';
import { loadEngine } from '../../engine/index.ts';
import type { GroupPairs } from '../../eval/audit-figures.ts';
import { checkpointDistances, checkpointHash } from '../../eval/embeddings.ts';
import type { ScoreKind } from '../../eval/score-kind.ts';
import { readScoresCsv } from '../../eval/scores-csv.ts';
import { loadEmbedder } from '../../models/embedder.ts';
import type { InputFile } from '../../report/report-model.ts';

export interface AuditSource {
  /** A short name for tables and messages: the checkpoint's or the scores file's name. */
  readonly label: string;
  /** The compute backend, when a checkpoint produced the distances. */
  readonly backend?: string;
  readonly groups: GroupPairs[];
  readonly inputs: InputFile[];
  /** Whether the folds came with the pairs (RFW pairs files, a fold column) or from KFold. */
  readonly explicitFolds: boolean;
  /** Images that could not be read, and the pairs left out because of them. */
  readonly failed: readonly { file: string; message: string }[];
  readonly droppedPairs: number;
}

export async function scoresSource(file: string, kind: ScoreKind = 'similarity'): Promise<AuditSource> {
  const scores = await readScoresCsv(file, kind);
  if (scores.groups.length < 2) {
    throw new GabnError('dataset', `only one group ('${scores.groups[0]!.name}') in the scores file`, {
      file,
      expected: 'pairs of at least 2 groups to compare',
    });
  }
  return {
    label: path.basename(file),
    groups: scores.groups,
    inputs: [{ role: 'scores', path: file, sha256: sha256Hex(scores.bytes), scoreKind: scores.scoreKind }],
    explicitFolds: scores.explicitFolds,
    failed: [],
    droppedPairs: 0,
  };
}

/** The hash of what a dataset's audit depends on: its pairs and the bytes of every image they use. */
export function datasetHash(dataset: Dataset): string {
  const hash = createHash('sha256');
  for (const p of dataset.pairs)
    hash.update(
      `${p.group}\t${p.fold}\t${p.same ? 1 : 0}\t${dataset.images[p.a]!.relative}\t${dataset.images[p.b]!.relative}\n`,
    );
  for (const i of new Set(dataset.pairs.flatMap((p) => [p.a, p.b])))
    hash.update(readFileSync(dataset.images[i]!.path));
  return hash.digest('hex');
}

export interface CheckpointSourceOptions {
  /** Add the mirror image's embedding (insightface's default). */
  readonly flip?: boolean;
  /** The embedding cache (eval/embeddings.ts's default when absent). */
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

export async function checkpointSource(
  checkpoint: string,
  dataset: Dataset,
  options: CheckpointSourceOptions = {},
): Promise<AuditSource> {
  const { backend } = await loadEngine();
  const embedder = await loadEmbedder(checkpoint);
  try {
    const result = await checkpointDistances(embedder, checkpoint, dataset, {
      flip: options.flip ?? true,
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    if (result.groups.length < 2) {
      throw new GabnError('dataset', `pairs of only ${result.groups.length} group could be audited`, {
        file: dataset.root,
        expected: 'at least 2 groups',
      });
    }
    return {
      label: path.basename(checkpoint),
      backend,
      groups: result.groups,
      inputs: [
        { role: 'checkpoint', path: path.resolve(checkpoint), sha256: checkpointHash(checkpoint) },
        { role: 'dataset', path: dataset.root, sha256: datasetHash(dataset) },
      ],
      explicitFolds: true,
      failed: result.failed,
      droppedPairs: result.droppedPairs,
    };
  } finally {
    embedder.dispose();
  }
}
