/**
 * How a job ended, once its worker is gone: what its run said (a training run writes its own end:
 * succeeded, stopped, interrupted, failed), or else what the runner knows — it succeeded with a
 * result, it was cancelled, the app closed under it, or its worker died (with the tail of its log).
 */
import { logTail, type RunStatus } from '../runs/run-folder.ts';
import { interrupted } from '../runs/run-lock.ts';
import { type Entry, isSelfReporting } from './entry.ts';
import { isActive, readDiskRun } from './registry.ts';

export interface JobEnd {
  readonly status: RunStatus;
  /** The parameters as the run recorded them (a training run: the configuration it trained with). */
  readonly params?: Record<string, unknown>;
  /** The runner writes status.json (its worker did not). */
  readonly write: boolean;
}

export async function jobEnd(
  entry: Entry,
  code: number | null,
  signal: NodeJS.Signals | null,
): Promise<JobEnd> {
  const finishedAt = new Date().toISOString();
  const run = isSelfReporting(entry) ? readDiskRun(entry.runDir) : undefined;
  const disk = run?.status;
  if (disk !== undefined && !isActive(disk.state)) {
    return { status: disk, write: false, ...(run?.config ? { params: run.config.params } : {}) };
  }
  const { pid: _pid, ...last } = disk ?? entry.status;
  if (!isSelfReporting(entry) && code === 0 && entry.result !== undefined) {
    return { status: { ...last, state: 'succeeded', finishedAt }, write: true };
  }
  if (entry.ending === 'cancel') {
    const kept = last.training?.checkpoint;
    const error = kept ? `cancelled; its last checkpoint is ${kept}` : 'cancelled';
    return { status: { ...last, state: 'cancelled', finishedAt, error }, write: true };
  }
  if (entry.ending === 'close' && isSelfReporting(entry)) return { status: interrupted(last), write: true };
  const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
  const tail = await logTail(entry.runDir);
  const error = `${entry.error ?? `the worker ${how} before it finished`}${tail ? `\n--- last lines of log.txt ---\n${tail}` : ''}`;
  return { status: { ...last, state: 'failed', finishedAt, error }, write: true };
}
