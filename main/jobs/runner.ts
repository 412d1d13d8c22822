/**
 * Runs jobs as worker processes (`child_process.fork` of worker.ts through tsx's loader), one run
 * directory each, and keeps the run registry on disk so that it survives a restart of the app.
 *
 * - Crash isolation: a worker that dies (an exception, out of memory, kill -9) fails its job, with
 *   the tail of its log; the process that hosts the runner goes on.
 * - Cancel: SIGTERM, then SIGKILL after a grace period. Stop (a training run): after its current
 *   step, with a resume point; Resume queues it again and it continues from its last checkpoint.
 * - Queues: training runs one at a time, the other jobs one at a time beside them (kind-traits.ts),
 *   each in the order it was queued; a job may wait for others (`after`). Queued runs are on disk:
 *   the next runner starts them.
 * - Registry: every run folder of the runs folder, re-read as it changes, those of `gabn train`
 *   included. A run left running by a process that is gone is shown as interrupted.
 * - One writer per status.json: a self-reporting kind's worker writes its own while it lives
 *   (kind-traits.ts); the runner writes before it starts and after it is gone.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApiEvents, JobInfo, JobKind, MetricsRecord } from '../api/contract.ts';
import { GabnError } from '../base/errors.ts';
import { createRunFolder, newRunId, writeRunResult } from '../runs/run-folder.ts';
import { runLockHolder } from '../runs/run-lock.ts';
import { type Entry, isExternal, isSelfReporting, jobInfo, PENDING, queueOrder } from './entry.ts';
import { laneOf, QUEUE_KINDS, RESUMABLE_KINDS, STOPPABLE_KINDS } from './kind-traits.ts';
import { launchWorker, writeEntryStatus } from './launch.ts';
import type { ParentMessage } from './protocol.ts';
import type { JobQueue } from './queue/queue-client.ts';
import { isActive, removeRunFolder, syncEntries } from './registry.ts';

export interface JobRunnerOptions {
  readonly runsDir: string;
  /** Jobs running at once in each lane (default 1: the machine's cores go to one heavy job at a time). */
  readonly concurrency?: number;
  /** Time between SIGTERM and SIGKILL on cancel (default 5 s). */
  readonly graceMs?: number;
  /** On close, how long a training run may take to save its resume point (default 8 s). */
  readonly closeGraceMs?: number;
  /**
   * A queue whose workers (`gabn worker`, on any machine that sees the runs folder) run the jobs of
   * the kinds that go there (kind-traits.ts) instead of this process's children (queue-config.ts
   * says when). The run folders, states and registry are the same; such runs are followed from disk
   * as other processes' runs are.
   */
  readonly queue?: JobQueue;
}

type Listener<E extends keyof ApiEvents> = (payload: ApiEvents[E]) => void;

export interface StartOptions {
  /** Jobs to wait for: it starts once none of them is queued, running, stopped or interrupted. */
  readonly after?: readonly string[];
}

export interface JobRunner {
  start(kind: JobKind, params: Record<string, unknown>, options?: StartOptions): JobInfo;
  cancel(id: string): JobInfo;
  /** A training run stops after its current step with a resume point. */
  stop(id: string): JobInfo;
  /** Queues a run that ended short again: it continues from where it stopped. */
  resume(id: string): JobInfo;
  /** Deletes a run that is neither queued nor running, folder and all. */
  remove(id: string): void;
  get(id: string): JobInfo;
  list(): JobInfo[];
  /** The worker's process id while a job runs. */
  pid(id: string): number | undefined;
  on<E extends keyof ApiEvents>(event: E, listener: Listener<E>): () => void;
  /** Resolves when the job has finished (succeeded, failed, cancelled, stopped or interrupted). */
  wait(id: string): Promise<JobInfo>;
  /** Stops every running worker (training runs save a resume point first) and waits for them. */
  close(): Promise<void>;
}

/** How often runs worked on by other processes are read again while any is active. */
const EXTERNAL_POLL_MS = 3000;

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const runsDir = path.resolve(options.runsDir);
  const concurrency = options.concurrency ?? 1;
  const graceMs = options.graceMs ?? 5000;
  const closeGraceMs = options.closeGraceMs ?? 8000;
  const queue = options.queue;
  const onQueue = (kind: string) => queue !== undefined && QUEUE_KINDS.has(kind);
  mkdirSync(runsDir, { recursive: true });
  const entries = new Map<string, Entry>();
  const listeners = new Map<string, Set<(payload: never) => void>>();
  let lastSync = 0;
  let closing = false;

  function emit<E extends keyof ApiEvents>(event: E, payload: ApiEvents[E]): void {
    for (const listener of listeners.get(event) ?? []) (listener as Listener<E>)(payload);
  }

  const queued = () =>
    [...entries.entries()]
      .filter(([, e]) => e.adopted && e.status.state === 'queued')
      .sort(([, a], [, b]) => queueOrder(a).localeCompare(queueOrder(b)));

  function info(id: string, entry: Entry): JobInfo {
    const lane = laneOf(entry.status.kind);
    const position = queued()
      .filter(([, e]) => laneOf(e.status.kind) === lane)
      .findIndex(([other]) => other === id);
    return jobInfo(entry, position >= 0 ? position + 1 : undefined);
  }

  const writeStatus = writeEntryStatus;

  function settle(id: string, entry: Entry): void {
    const finished = info(id, entry);
    emit('job-finished', finished);
    for (const waiter of entry.waiters.splice(0)) waiter(finished);
  }

  function sync(force = false): void {
    if (!force && Date.now() - lastSync < 250) return;
    lastSync = Date.now();
    syncEntries(runsDir, entries, { writeStatus, ended: settle });
  }

  // The registry at start: every run on disk. One left running by an earlier process was cut short
  // (the app quit or crashed) unless its process still works on it; one left queued waits its turn.
  sync(true);
  for (const entry of entries.values()) {
    // Queued runs of a queue are in the queue already: its workers start them.
    if (entry.status.state === 'queued' && !onQueue(entry.status.kind)) entry.adopted = true;
  }

  function runningIn(lane: string): number {
    return [...entries.values()].filter((e) => e.status.state === 'running' && laneOf(e.status.kind) === lane)
      .length;
  }

  function waiting(entry: Entry): boolean {
    return entry.after.some((id) => {
      const dep = entries.get(id);
      return dep !== undefined && PENDING.includes(dep.status.state);
    });
  }

  /** Hands a queued run to the queue; one the queue refuses (Redis is gone) fails, saying why. */
  function enqueue(id: string, entry: Entry): void {
    queue!.add(entry.status.kind, id).catch((error: unknown) => {
      entry.status = {
        ...entry.status,
        state: 'failed',
        finishedAt: new Date().toISOString(),
        error: `the queue ${queue!.url} did not take the job: ${(error as Error).message}`,
      };
      writeStatus(entry);
      settle(id, entry);
    });
  }

  function pump(): void {
    if (closing) return;
    for (const [id, entry] of queued()) {
      if (waiting(entry) || runningIn(laneOf(entry.status.kind)) >= concurrency) continue;
      launch(id, entry);
    }
  }

  // Runs of other processes are read again while any is active (the app gets no events from them),
  // and the queue moves when one ends.
  const poll = setInterval(() => {
    if (![...entries.values()].some(isExternal)) return;
    sync(true);
    pump();
  }, EXTERNAL_POLL_MS);
  poll.unref();
  pump();

  function launch(id: string, entry: Entry): void {
    void launchWorker(entry, {
      onLine: (line) => emit('job-log', { id, line }),
      onProgress: (progress) => emit('job-progress', { id, progress }),
      onMetrics: (values) => emit('job-metrics', { id, record: values as unknown as MetricsRecord }),
    }).then((end) => {
      entry.status = end.status;
      if (end.params) entry.params = end.params;
      if (end.write) writeStatus(entry);
      if (entry.status.state === 'succeeded' && entry.result !== undefined)
        writeRunResult(entry.runDir, entry.result);
      // Until here the job counts as running: the registry leaves it alone and the queue waits.
      entry.child = undefined;
      settle(id, entry);
      pump();
    });
  }

  function find(id: string): Entry {
    sync();
    const entry = entries.get(id);
    if (entry === undefined) {
      throw new GabnError('usage', `no job '${id.slice(0, 60)}'`, { expected: 'the id of a listed job' });
    }
    return entry;
  }

  function refuse(message: string, expected: string): never {
    throw new GabnError('usage', message, { expected });
  }

  return {
    start(kind, params, startOptions = {}) {
      const createdAt = new Date().toISOString();
      const id = newRunId(kind);
      const runDir = path.join(runsDir, id);
      const after = [...(startOptions.after ?? [])];
      createRunFolder(runDir, { kind, params, createdAt, ...(after.length > 0 ? { after } : {}) });
      const entry: Entry = {
        status: { id, kind, state: 'queued', createdAt, queuedAt: createdAt },
        runDir,
        params,
        after,
        adopted: !onQueue(kind),
        lastStatusWrite: 0,
        waiters: [],
      };
      writeStatus(entry);
      entries.set(id, entry);
      if (onQueue(kind)) enqueue(id, entry);
      pump();
      return info(id, entry);
    },
    cancel(id) {
      const entry = find(id);
      const onItsQueue = onQueue(entry.status.kind);
      if (entry.status.state === 'queued' && (entry.adopted || onItsQueue)) {
        // A worker that takes it after all finds it cancelled and leaves it (queue-worker.ts).
        if (onItsQueue) void queue!.withdraw(entry.status.kind, id).catch(() => {});
        entry.status = {
          ...entry.status,
          state: 'cancelled',
          finishedAt: new Date().toISOString(),
          error: 'cancelled',
        };
        writeStatus(entry);
        settle(id, entry);
      } else if (entry.status.state === 'running' && onItsQueue) {
        // Its worker ends it and writes 'cancelled' (queue-worker.ts); the registry reads it then.
        void queue!.ask(entry.status.kind, id, 'cancel').catch(() => {});
      } else if (entry.status.state === 'running' && entry.child === undefined) {
        refuse(
          `the run '${id}' is worked on by another process (${runLockHolder(entry.runDir)?.purpose ?? 'gone'})`,
          'Stop, which asks that process to stop after its current step',
        );
      } else if (entry.child && entry.ending !== 'cancel') {
        entry.ending = 'cancel';
        const child = entry.child;
        child.kill('SIGTERM');
        entry.killTimer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      }
      return info(id, entry);
    },
    stop(id) {
      const entry = find(id);
      if (!STOPPABLE_KINDS.has(entry.status.kind))
        refuse(`a ${entry.status.kind} job cannot stop part way`, 'cancel');
      if (entry.status.state !== 'running') {
        refuse(
          `the run '${id}' is ${entry.status.state}`,
          entry.status.state === 'queued' ? 'cancel, to take it out of the queue' : 'a running run',
        );
      }
      if (entry.child) {
        entry.ending ??= 'stop';
        entry.child.send({ type: 'stop', reason: 'stop' } satisfies ParentMessage);
        entry.status = { ...entry.status, message: 'stopping after the current step' };
      } else if (onQueue(entry.status.kind)) {
        // Its worker asks it to stop after the current step, with a resume point.
        void queue!.ask(entry.status.kind, id, 'stop').catch(() => {});
        entry.status = { ...entry.status, message: 'stopping after the current step' };
      } else {
        // A run of `gabn train` stops after its current step on SIGINT, as on Ctrl-C.
        const holder = runLockHolder(entry.runDir);
        if (holder === undefined || holder.hostname !== os.hostname())
          refuse(`no process of this machine works on '${id}'`, 'a running run');
        process.kill(holder.pid, 'SIGINT');
      }
      return info(id, entry);
    },
    resume(id) {
      const entry = find(id);
      const { state, kind } = entry.status;
      if (!RESUMABLE_KINDS.has(kind))
        refuse(`a ${kind} job cannot be resumed`, 'a training run or an ablation');
      if (!['stopped', 'interrupted', 'failed', 'cancelled'].includes(state)) {
        refuse(`the run '${id}' is ${state}`, 'a stopped, interrupted, failed or cancelled run');
      }
      if (runLockHolder(entry.runDir) !== undefined)
        refuse(`the run '${id}' is in use by another process`, 'that process to end');
      const { finishedAt: _f, error: _e, pid: _p, ...rest } = entry.status;
      entry.status = {
        ...rest,
        state: 'queued',
        queuedAt: new Date().toISOString(),
        message: 'queued to resume',
      };
      entry.adopted = !onQueue(kind);
      entry.result = undefined;
      writeStatus(entry);
      if (onQueue(kind)) enqueue(id, entry);
      pump();
      return info(id, entry);
    },
    remove(id) {
      const entry = find(id);
      if (isActive(entry.status.state) || runLockHolder(entry.runDir) !== undefined) {
        refuse(
          `the run '${id}' is ${entry.status.state}`,
          'a run that is neither queued nor running: stop or cancel it first',
        );
      }
      removeRunFolder(runsDir, id);
      entries.delete(id);
    },
    get: (id) => info(id, find(id)),
    list() {
      sync();
      return [...entries.entries()]
        .map(([id, entry]) => info(id, entry))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    },
    pid: (id) => find(id).child?.pid,
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (payload: never) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (payload: never) => void);
    },
    wait(id) {
      const entry = find(id);
      if (!isActive(entry.status.state)) return Promise.resolve(info(id, entry));
      return new Promise((resolve) => entry.waiters.push(resolve));
    },
    async close() {
      closing = true;
      clearInterval(poll);
      const active = [...entries.entries()].filter(([, e]) => e.child !== undefined);
      for (const [id, entry] of active) {
        if (isSelfReporting(entry)) {
          // The run saves where it is and reads as interrupted; the next start resumes it.
          entry.ending = 'close';
          entry.child!.send({ type: 'stop', reason: 'close' } satisfies ParentMessage);
          const child = entry.child!;
          entry.killTimer = setTimeout(() => child.kill('SIGKILL'), closeGraceMs);
        } else this.cancel(id);
      }
      await Promise.all(active.map(([id]) => this.wait(id)));
      // A queue's jobs are its workers': they go on without the app.
      await queue?.close();
    },
  };
}

/** The runs folder inside a workspace. */
export function runsDirOf(workspace: string): string {
  return path.join(workspace, 'runs');
}
