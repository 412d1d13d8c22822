/**
 * What the runner must know of a job kind before it starts one, without loading the kind itself.
 *
 * A self-reporting kind's use case owns its run folder while its worker lives: it takes the folder's
 * lock, writes status.json after every step, appends metrics.jsonl and log.txt itself (a training
 * run does all this under `gabn train` too). The runner then writes status.json only when no worker
 * is there to: before it starts one (queued, running) and after it is gone without saying so
 * (cancelled, crashed, the app closed). One writer at a time.
 *
 * Lanes: a training run takes the machine for hours, so training runs queue among themselves, one
 * at a time by default, while the app's other jobs (group averages, an estimate, an export) queue in
 * a lane of their own and are not held behind them.
 */
import type { JobKind } from '../api/contract.ts';

export const SELF_REPORTING_KINDS: ReadonlySet<string> = new Set<JobKind>(['train']);

/** Kinds that stop after their current step on request, with a resume point. */
export const STOPPABLE_KINDS: ReadonlySet<string> = new Set<JobKind>(['train']);

/** Kinds that can be queued again after they ended short: they continue where they stopped. */
export const RESUMABLE_KINDS: ReadonlySet<string> = new Set<JobKind>(['train', 'ablation']);

/**
 * Kinds a queue's workers run (`gabn worker`), when the workspace has a queue: they read the shared
 * data and write only into their run folder. The others write into the workspace itself (synthetic
 * faces, an imported or exported checkpoint, the demo) and run on the app's machine.
 */
export const QUEUE_KIND_NAMES: readonly JobKind[] = [
  'train',
  'ablation',
  'audit',
  'audit-shard',
  'group-averages',
  'train-estimate',
];
export const QUEUE_KINDS: ReadonlySet<string> = new Set<string>(QUEUE_KIND_NAMES);

export type Lane = 'training' | 'jobs';

export function laneOf(kind: string): Lane {
  return kind === 'train' || kind === 'ablation' ? 'training' : 'jobs';
}
