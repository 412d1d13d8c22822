/**
 * The 'audit-shard' job: one shard of a sharded audit (usecases/audit/shards.ts), its embeddings
 * cached in its own run folder, where the audit that waits for it reads them.
 */
import path from 'node:path';
import type { AuditShardJobParams, AuditShardResult } from '../../api/contract.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { embedAuditShard } from '../../usecases/audit/shards.ts';
import type { JobContext } from '../protocol.ts';

/** The embedding cache of a shard's run folder. */
export function shardCacheDir(runDir: string): string {
  return path.join(runDir, 'cache');
}

export async function runAuditShardJob(
  params: AuditShardJobParams,
  context: JobContext,
): Promise<AuditShardResult> {
  const dataset = loadDataset(params.data);
  context.log(
    `${path.basename(params.checkpoint)}: images ${params.first}..${params.first + params.count - 1} of ${params.group}`,
  );
  const result = await embedAuditShard(dataset, params, {
    flip: params.flip,
    cacheDir: shardCacheDir(context.runDir),
    signal: context.signal,
    onProgress: (done, total) => context.progress(done, total, `embedding ${params.group}`),
  });
  context.log(`${result.images} images, ${result.cached} already cached, ${result.failed} unreadable`);
  return result;
}
