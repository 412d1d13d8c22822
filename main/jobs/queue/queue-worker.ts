/**
 * A queue worker: BullMQ workers on the queues of the kinds it takes, each job run as the local
 * runner runs one (launch.ts: a worker process of the job's kind on its run folder), so it writes the
 * same run folder, which the app reads from the shared runs folder. BullMQ does the rest: how many
 * at once (concurrency), a job whose worker died (its lock in Redis lapses: a stalled job) goes to
 * another, retries, progress and logs on the job.
 *
 * - A job that waits for others (`after`: an ablation's comparison, a sharded audit's audit) goes back
 *   to the queue, delayed, until they have ended.
 * - A run folder still locked by a live process (the process of a worker that died, finishing its
 *   step) is retried a moment later; a training run then resumes from its last checkpoint, an audit
 *   shard redoes only itself, and a run that already succeeded is not run again.
 * - Closing (SIGTERM): a training run saves a resume point and its job goes back to the queue for
 *   another worker; other jobs are finished first.
 */
import type { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { DelayedError, type Job, QueueEvents, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { JobProgress } from '../../api/contract.ts';
import { readRunResult, writeRunResult } from '../../runs/run-folder.ts';
import { runLockHolder } from '../../runs/run-lock.ts';
import { type Entry, fromDisk, isSelfReporting, PENDING } from '../entry.ts';
import { SELF_REPORTING_KINDS, STOPPABLE_KINDS } from '../kind-traits.ts';
import { launchWorker, writeEntryStatus } from '../launch.ts';
import { type ParentMessage, WORKER_NAME_ENV } from '../protocol.ts';
import { readDiskRun } from '../registry.ts';
import { type QueuedRun, REQUEST_EVENT, type RunRequest } from './queue-client.ts';
import { connectionOf, QUEUE_PREFIX, queueNameOf } from './queue-config.ts';

export interface QueueWorkerOptions {
  readonly url: string;
  /** The shared runs folder as this machine sees it (docs/scale-out.md). */
  readonly runsDir: string;
  readonly kinds: readonly string[];
  /** Jobs of each kind at once (default 1). */
  readonly concurrency?: number;
  /** Shown in the Runs view beside each job it runs (default host/pid). */
  readonly name?: string;
  /** Extra environment of the jobs' processes (GABN_BACKEND). */
  readonly env?: Record<string, string>;
  /** How long a job's lock in Redis lasts without renewal: how soon a dead worker's job moves on (default 30 s). */
  readonly lockMs?: number;
  /** How long a training run may take to save its resume point on close (default 60 s). */
  readonly closeGraceMs?: number;
  readonly onEvent?: (event: QueueWorkerEvent) => void;
}

export type QueueWorkerEvent =
  | { readonly type: 'started' | 'waiting' | 'handed-back'; readonly kind: string; readonly run: string }
  | { readonly type: 'progress'; readonly run: string; readonly progress: JobProgress }
  | { readonly type: 'ended'; readonly run: string; readonly state: string; readonly error?: string }
  | { readonly type: 'error'; readonly message: string };

export interface QueueWorker {
  readonly name: string;
  /** Stops taking jobs; training runs save a resume point and go back to the queue; others finish. */
  close(): Promise<void>;
}

/** How long a job waiting for others, or for a locked folder, stays delayed before it looks again. */
const WAIT_MS = 1500;
/** Between SIGTERM and SIGKILL on cancel, as the local runner's default. */
const CANCEL_GRACE_MS = 5000;
/** A job whose worker died more often than this fails (a job that kills its workers). */
const MAX_STALLED = 3;

/** Resolves once every queue of its kinds is connected. */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const name = options.name ?? `${os.hostname()}/${process.pid}`;
  const runsDir = path.resolve(options.runsDir);
  const active = new Map<string, Entry>();
  const waiting = new Set<string>();
  let closing = false;
  const event = (e: QueueWorkerEvent) => options.onEvent?.(e);

  async function later(job: Job<QueuedRun>, token: string | undefined): Promise<never> {
    await job.moveToDelayed(Date.now() + WAIT_MS, token);
    throw new DelayedError();
  }

  async function runJob(job: Job<QueuedRun>, token: string | undefined): Promise<unknown> {
    const id = job.data.run;
    const runDir = path.join(runsDir, id);
    const disk = readDiskRun(runDir);
    if (disk === undefined)
      throw new UnrecoverableError(
        `no run folder ${runDir}: this worker's runs folder is not the app's (see docs/scale-out.md)`,
      );
    // Done by a worker that died before it could say so; cancelled while it waited; failed because
    // the queue answered too late (queue-client.ts): not run (again).
    if (disk.status.state === 'succeeded') return readRunResult(runDir) ?? null;
    if (!['queued', 'running', 'interrupted'].includes(disk.status.state)) return null;
    const waitsFor = (disk.config?.after ?? []).filter((other) => {
      const state = readDiskRun(path.join(runsDir, other))?.status.state;
      return state !== undefined && PENDING.includes(state);
    });
    if (waitsFor.length > 0 || runLockHolder(runDir) !== undefined) {
      // Said once: it is looked at again every WAIT_MS.
      if (!waiting.has(id)) event({ type: 'waiting', kind: job.name, run: id });
      waiting.add(id);
      return later(job, token);
    }
    waiting.delete(id);
    const entry = fromDisk(runDir, disk);
    entry.status = { ...entry.status, worker: name };
    active.set(id, entry);
    let lastProgress = 0;
    const end = await launchWorker(entry, {
      env: { ...options.env, [WORKER_NAME_ENV]: name },
      // The worker asks its jobs to stop (close below); Ctrl-C at its terminal is for it alone.
      detached: true,
      started: () => event({ type: 'started', kind: job.name, run: id }),
      onLine: (line) => void job.log(line).catch(() => {}),
      onProgress: (progress) => {
        if (Date.now() - lastProgress < 1000 && progress.done < progress.total) return;
        lastProgress = Date.now();
        event({ type: 'progress', run: id, progress });
        void job.updateProgress({ ...progress }).catch(() => {});
      },
    }).finally(() => active.delete(id));
    // A folder taken between the look and the start (the process of a worker that died, finishing
    // its step): queued again for a later try while the job has tries left, not failed.
    const retried =
      end.status.state === 'failed' &&
      entry.errorKind === 'busy' &&
      job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    const { finishedAt: _f, error: _e, pid: _p, ...unfinished } = end.status;
    entry.status = retried
      ? { ...unfinished, state: 'queued', worker: name, message: 'its folder was in use: tried again' }
      : { ...end.status, worker: name };
    if (retried || end.write || !isSelfReporting(entry)) writeEntryStatus(entry);
    const { state, error } = entry.status;
    if (state === 'succeeded' && entry.result !== undefined) writeRunResult(runDir, entry.result);
    entry.child = undefined;
    event({ type: 'ended', run: id, state, ...(error === undefined ? {} : { error }) });
    if (state === 'succeeded') return entry.result ?? null;
    // A person's Cancel or Stop: the run folder says so; the queue's part is done (Resume queues it again).
    if (state === 'cancelled' || state === 'stopped') return null;
    if (state === 'interrupted' && closing) {
      // Handed back: another worker resumes it from its resume point.
      event({ type: 'handed-back', kind: job.name, run: id });
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (retried) throw new Error(end.status.error ?? 'the run folder is busy');
    throw new UnrecoverableError(error ?? state);
  }

  const workers = options.kinds.map(
    (kind) =>
      new Worker<QueuedRun>(queueNameOf(kind), runJob, {
        connection: connectionOf(options.url),
        prefix: QUEUE_PREFIX,
        name,
        concurrency: options.concurrency ?? 1,
        lockDuration: options.lockMs ?? 30_000,
        // Looked for as often as a lock lasts: a dead worker's job moves on within two lock times.
        stalledInterval: options.lockMs ?? 30_000,
        maxStalledCount: MAX_STALLED,
      }),
  );
  for (const worker of workers)
    worker.on('error', (error) => {
      event({ type: 'error', message: error.message });
    });
  // Cancel and Stop from the app, for the jobs this worker runs, as the local runner does them.
  const requests = options.kinds.map(
    (kind) =>
      new QueueEvents(queueNameOf(kind), { connection: connectionOf(options.url), prefix: QUEUE_PREFIX }),
  );
  const onRequest = ({ run, what }: RunRequest) => {
    const entry = active.get(run);
    const child = entry?.child;
    if (entry === undefined || child === undefined || entry.ending === 'cancel') return;
    if (what === 'stop' && STOPPABLE_KINDS.has(entry.status.kind)) {
      entry.ending ??= 'stop';
      child.send({ type: 'stop', reason: 'stop' } satisfies ParentMessage);
    } else if (what === 'cancel') {
      entry.ending = 'cancel';
      child.kill('SIGTERM');
      entry.killTimer = setTimeout(() => child.kill('SIGKILL'), CANCEL_GRACE_MS);
    }
  };
  for (const events of requests) (events as unknown as EventEmitter).on(REQUEST_EVENT, onRequest);
  await Promise.all(requests.map((r) => r.waitUntilReady()));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    name,
    async close() {
      closing = true;
      // Taking no more jobs, at once; the running ones end as below, then the workers close.
      for (const worker of workers) void worker.pause(true);
      for (const entry of active.values()) {
        const child = entry.child;
        if (child === undefined || !SELF_REPORTING_KINDS.has(entry.status.kind)) continue;
        entry.ending = 'close';
        child.send({ type: 'stop', reason: 'close' } satisfies ParentMessage);
        entry.killTimer = setTimeout(() => child.kill('SIGKILL'), options.closeGraceMs ?? 60_000);
      }
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(requests.map((r) => r.close()));
    },
  };
}
