/**
 * Starts an audit: as one job, or, when its parameters ask for shards (`imagesPerShard`), as one
 * 'audit-shard' job per checkpoint × group × range of images (usecases/audit/shards.ts) and the
 * audit itself, which waits for them and reads their embeddings. Whichever runner runs them (this
 * machine's, or a queue's workers), the report is the one the audit in one job writes.
 */
import type { AuditJobParams, AuditShardJobParams, JobInfo } from '../api/contract.ts';
import { loadDataset } from '../data/load-dataset.ts';
import { planAuditShards } from '../usecases/audit/shards.ts';
import type { JobRunner } from './runner.ts';

export function startAudit(runner: JobRunner, params: AuditJobParams): JobInfo {
  const { imagesPerShard, shards: _s, ...audit } = params;
  const checkpoints = audit.checkpoints ?? [];
  if (imagesPerShard === undefined || checkpoints.length === 0 || audit.data === undefined)
    return runner.start('audit', { ...audit });
  const dataset = loadDataset(audit.data);
  const shards = planAuditShards(dataset, checkpoints, imagesPerShard).map((shard) => {
    const shardParams: AuditShardJobParams = { ...shard, data: audit.data!, flip: audit.flip ?? true };
    return runner.start('audit-shard', { ...shardParams }).id;
  });
  return runner.start('audit', { ...audit, shards }, { after: shards });
}
