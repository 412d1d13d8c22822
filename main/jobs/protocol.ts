/**
 * The messages a job's worker process sends to the process that started it, over the IPC channel of
 * `child_process.fork` (JSON-serialised). The worker's stdout and stderr go to the run's log.txt.
 */
import type { ApiError, JobProgress } from '../api/contract.ts';

export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: JobProgress }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'metrics'; readonly values: Record<string, number> }
  | { readonly type: 'result'; readonly result: unknown }
  | { readonly type: 'error'; readonly error: ApiError };

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
  return true;
}

/** What a job kind gets to report with while it runs. */
export interface JobContext {
  readonly runDir: string;
  readonly signal: AbortSignal;
  progress(done: number, total: number, message?: string): void;
  log(line: string): void;
  metrics(values: Record<string, number>): void;
}
