/**
 * Every kind of job a worker process can run, by name: a new kind is one file under kinds/ and one
 * line here (its parameters are validated where a client starts it: main/api/validation.ts).
 */
import type { JobKind } from '../../api/contract.ts';
import type { JobContext } from '../protocol.ts';
import { runAblationJob } from './ablation.ts';
import { runAuditJob } from './audit.ts';
import { runAuditShardJob } from './audit-shard.ts';
import { runDemoWorkspaceJob } from './demo-workspace.ts';
import { runExportCheckpointJob } from './export-checkpoint.ts';
import { runGroupAveragesJob } from './group-averages.ts';
import { runImportModelJob } from './import-model.ts';
import { runSynthJob } from './synth.ts';
import { runTrainJob } from './train.ts';
import { runTrainEstimateJob } from './train-estimate.ts';

// Each kind reads its own parameters' type; the worker hands over what config.json holds.
type JobKindRunner = (params: never, context: JobContext) => Promise<unknown>;

export const JOB_KINDS = {
  synth: runSynthJob,
  'group-averages': runGroupAveragesJob,
  'demo-workspace': runDemoWorkspaceJob,
  'import-model': runImportModelJob,
  audit: runAuditJob,
  'audit-shard': runAuditShardJob,
  train: runTrainJob,
  'train-estimate': runTrainEstimateJob,
  ablation: runAblationJob,
  'export-checkpoint': runExportCheckpointJob,
} satisfies Record<JobKind, JobKindRunner>;
