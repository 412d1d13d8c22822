/**
 * A run as the runner holds it: its status (as on disk, or fresher), its parameters, its worker while
 * one works on it, and how it is shown to clients (JobInfo).
 */
import type { ChildProcess } from 'node:child_process';
import type { JobInfo, JobKind } from '../api/contract.ts';
import type { RunState, RunStatus } from '../runs/run-folder.ts';
import { SELF_REPORTING_KINDS } from './kind-traits.ts';
import type { DiskRun } from './registry.ts';

export interface Entry {
  status: RunStatus;
  readonly runDir: string;
  params: Record<string, unknown>;
  /** Jobs it waits for. */
  after: readonly string[];
  /** A queued run this runner will start (it queued it, or found it queued at start). */
  adopted: boolean;
  /** status.json's modification time when it was last read. */
  statusTime?: number;
  /** The worker, from its start until the runner has recorded how it ended. */
  child?: ChildProcess;
  /** What was asked of the running worker. */
  ending?: 'cancel' | 'stop' | 'close';
  killTimer?: NodeJS.Timeout;
  result?: unknown;
  error?: string;
  /** The kind of the error the worker reported (a GabnError's: busy, usage, …). */
  errorKind?: string;
  lastStatusWrite: number;
  waiters: ((info: JobInfo) => void)[];
}

/** States of a job others may wait for: it has not ended, or it can still continue. */
export const PENDING: readonly RunState[] = ['queued', 'running', 'stopped', 'interrupted'];

export function fromDisk(runDir: string, run: DiskRun): Entry {
  return {
    status: run.status,
    runDir,
    params: run.config?.params ?? {},
    after: run.config?.after ?? [],
    adopted: false,
    lastStatusWrite: 0,
    waiters: [],
  };
}

export function isSelfReporting(entry: Entry): boolean {
  return SELF_REPORTING_KINDS.has(entry.status.kind);
}

/** Worked on (or queued) by a process other than this runner's workers: `gabn train`, another app. */
export function isExternal(entry: Entry): boolean {
  return (
    (entry.status.state === 'running' && entry.child === undefined) ||
    (entry.status.state === 'queued' && !entry.adopted)
  );
}

/** Queued runs start in the order they joined the queue (a resumed run joins it again). */
export function queueOrder(entry: Entry): string {
  return entry.status.queuedAt ?? entry.status.createdAt;
}

export function jobInfo(entry: Entry, queuePosition: number | undefined): JobInfo {
  const { pid: _p, updatedAt: _u, queuedAt: _q, training, message, ...status } = entry.status;
  return {
    ...status,
    kind: status.kind as JobKind,
    params: entry.params,
    runDir: entry.runDir,
    ...(entry.result === undefined ? {} : { result: entry.result }),
    ...(message === undefined ? {} : { message }),
    ...(training === undefined ? {} : { training }),
    ...(isExternal(entry) ? { external: true } : {}),
    ...(queuePosition === undefined ? {} : { queuePosition }),
    ...(entry.after.length > 0 ? { after: [...entry.after] } : {}),
  };
}
