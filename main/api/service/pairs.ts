/**
 * An image's verification pairs, and with a checkpoint each pair's distance, the threshold of its
 * fold under the 10-fold protocol and the verdict. A group's pairs are scored once, in background
 * chunks (so maps the user asks for cut in), with the audit's embeddings and distances.
 */
import { embedImages, groupPairDistances } from '../../eval/embeddings.ts';
import { verify } from '../../eval/verification.ts';
import type { PairEntry, PairsRequest, PairsResult } from '../contract.ts';
import { LruCache } from '../lru.ts';
import type { WorkQueue } from '../work-queue.ts';
import type { CheckpointRegistry, OpenCheckpoint } from './checkpoints.ts';
import { type DatasetRegistry, entryOf, type OpenDataset } from './datasets.ts';

interface GroupVerdicts {
  /** Distance by the dataset's pair index. */
  readonly distance: Map<number, number>;
  readonly foldThresholds: Float64Array;
  readonly accuracy: number;
}

/** Embeddings for pair scores are computed this many images at a time, so maps can cut in. */
const EMBED_CHUNK = 8;

export function createPairScoring(deps: {
  checkpoints: CheckpointRegistry;
  datasets: DatasetRegistry;
  work: WorkQueue;
  /** undefined: the audit's default cache; null: none. */
  embeddingCacheDir: string | null | undefined;
}) {
  const { checkpoints, datasets, work, embeddingCacheDir } = deps;
  const verdicts = new LruCache<string, Promise<GroupVerdicts>>(32);

  async function scoreGroup(c: OpenCheckpoint, d: OpenDataset, group: string): Promise<GroupVerdicts> {
    const embedder = await checkpoints.embedderOf(c);
    const used = [...new Set(d.dataset.pairs.flatMap((p) => (p.group === group ? [p.a, p.b] : [])))].sort(
      (a, b) => a - b,
    );
    const hash = embeddingCacheDir === null ? undefined : checkpoints.hashOf(c);
    const embeddings = new Map<number, Float32Array>();
    for (let start = 0; start < used.length; start += EMBED_CHUNK) {
      const chunk = used.slice(start, start + EMBED_CHUNK);
      const embedded = await work.run('background', () =>
        embedImages(embedder, c.summary.path, d.dataset.images, chunk, {
          ...(embeddingCacheDir === undefined ? {} : { cacheDir: embeddingCacheDir }),
          ...(hash === undefined ? {} : { checkpointHash: hash }),
        }),
      );
      for (const [index, e] of embedded.embeddings) embeddings.set(index, e);
    }
    const scored = groupPairDistances(d.dataset, group, embeddings);
    const v = verify(scored.pairs);
    const distance = new Map<number, number>();
    scored.pairIndices.forEach((pairIndex, k) => {
      distance.set(pairIndex, scored.pairs.distances[k]!);
    });
    return { distance, foldThresholds: v.foldThresholds, accuracy: v.accuracy };
  }

  /** A group's verdicts, computed once: every image of the group shares one computation. */
  function groupVerdicts(c: OpenCheckpoint, d: OpenDataset, group: string): Promise<GroupVerdicts> {
    const key = `${c.summary.id}|${d.summary.id}|${group}`;
    const known = verdicts.get(key);
    if (known) return known;
    const computing = scoreGroup(c, d, group);
    verdicts.set(key, computing);
    // A failure is not kept: the next request tries again.
    computing.catch(() => verdicts.delete(key));
    return computing;
  }

  return {
    async listPairs(request: PairsRequest): Promise<PairsResult> {
      const d = datasets.get(request.datasetId);
      const face = datasets.image(d, request.imageId);
      const mine = d.dataset.pairs.flatMap((p, i) =>
        p.a === request.imageId || p.b === request.imageId ? [{ p, i }] : [],
      );
      let scored: GroupVerdicts | undefined;
      if (request.checkpointId !== undefined && mine.length > 0) {
        scored = await groupVerdicts(checkpoints.get(request.checkpointId), d, face.group);
      }
      const pairs: PairEntry[] = mine.map(({ p, i }) => {
        const other = p.a === request.imageId ? p.b : p.a;
        const base = { partner: entryOf(d.dataset.images[other]!, other), same: p.same, fold: p.fold };
        const distance = scored?.distance.get(i);
        if (scored === undefined || distance === undefined) return base;
        const threshold = scored.foldThresholds[p.fold]!;
        const predictedSame = distance < threshold;
        return { ...base, distance, threshold, predictedSame, correct: predictedSame === p.same };
      });
      return { pairs, ...(scored ? { groupAccuracy: scored.accuracy } : {}) };
    },
  };
}
