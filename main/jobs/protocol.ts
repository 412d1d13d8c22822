/**
 * The messages between a job's worker process and the process that started it, over the IPC channel
 * of `child_process.fork` (JSON-serialised). The worker's stdout and stderr go to the run's log.txt.
 */
import type { ApiError, JobProgress } from '../api/contract.ts';

export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: JobProgress }
  | { readonly type: 'log'; readonly line: string }
  /** A record for metrics.jsonl (written by the runner, or already by the job: kind-traits.ts). */
  | { readonly type: 'metrics'; readonly values: Record<string, unknown> }
  | { readonly type: 'result'; readonly result: unknown }
  | { readonly type: 'error'; readonly error: ApiError };

/**
 * Why a job is asked to stop after its current step: a person's Stop, or the app closing under it
 * (a training run then reads as interrupted). Cancel is SIGTERM, not a message.
 */
export type StopReason = 'stop' | 'close';

/** What the runner sends a worker. */
export type ParentMessage = { readonly type: 'stop'; readonly reason: StopReason };

const TYPES = new Set(['progress', 'log', 'metrics', 'result', 'error']);

/** Whether an IPC message is one of ours (anything else is ignored, not trusted). */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !TYPES.has(type)) return false;
  if (type === 'progress') {
    const p = (value as { progress?: { done?: unknown; total?: unknown } }).progress;
    return typeof p?.done === 'number' && typeof p.total === 'number';
  }
  if (type === 'log') return typeof (value as { line?: unknown }).line === 'string';
  if (type === 'metrics') {
    const v = (value as { values?: unknown }).values;
    return typeof v === 'object' && v !== null;
  }
  return true;
}

export function isParentMessage(value: unknown): value is ParentMessage {
  const m = value as { type?: unknown; reason?: unknown } | null;
  return m?.type === 'stop' && (m.reason === 'stop' || m.reason === 'close');
}

/** The environment variable that tells a job's process which queue worker runs it. */
export const WORKER_NAME_ENV = 'GABN_WORKER';

/** What a job kind gets to report with while it runs. */
export interface JobContext {
  readonly runDir: string;
  /** The queue worker running the job, when a queue runs it (queue/queue-worker.ts). */
  readonly worker?: string;
  /** Aborted on cancel, and on a stop request (see stopReason). */
  readonly signal: AbortSignal;
  /** Why `signal` was aborted when it was a request to stop after the current step. */
  stopReason(): StopReason | undefined;
  progress(done: number, total: number, message?: string): void;
  log(line: string): void;
  metrics(values: Record<string, unknown>): void;
}
