/**
 * Runs jobs as worker processes (`child_process.fork` of worker.ts through tsx's loader), one run
 * directory each, and keeps the run registry on disk so that it survives a restart of the app.
 *
 * - Crash isolation: a worker that dies (an exception, out of memory, kill -9) fails its job, with
 *   the tail of its log; the process that hosts the runner goes on.
 * - Cancel: SIGTERM (the worker stops after its current step), then SIGKILL after a grace period.
 * - Restart: a run whose status.json says queued or running but whose process this runner did not
 *   start is shown as interrupted.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ApiEvents, JobInfo, JobKind, JobProgress } from '../api/contract.ts';
import { removeLeftoverTemps } from '../base/atomic-files.ts';
import { GabnError } from '../base/errors.ts';
import {
  ACTIVE_STATES,
  appendMetrics,
  appendRunLogText,
  createRunFolder,
  isRunId,
  logTail,
  newRunId,
  type RunState,
  type RunStatus,
  readRunConfig,
  readRunResult,
  readRunStatus,
  STATUS_FILE,
  writeRunResult,
  writeRunStatus,
} from '../runs/run-folder.ts';
import { currentRunStatus, runLockHolder } from '../runs/run-lock.ts';
import { isWorkerMessage, type WorkerMessage } from './protocol.ts';

export interface JobRunnerOptions {
  readonly runsDir: string;
  /** Jobs running at once (default 1: the machine's cores go to one heavy job at a time). */
  readonly concurrency?: number;
  /** Time between SIGTERM and SIGKILL on cancel (default 5 s). */
  readonly graceMs?: number;
}

type Listener<E extends keyof ApiEvents> = (payload: ApiEvents[E]) => void;

export interface JobRunner {
  start(kind: JobKind, params: Record<string, unknown>): JobInfo;
  cancel(id: string): JobInfo;
  get(id: string): JobInfo;
  list(): JobInfo[];
  /** The worker's process id while a job runs. */
  pid(id: string): number | undefined;
  on<E extends keyof ApiEvents>(event: E, listener: Listener<E>): () => void;
  /** Resolves when the job has finished (succeeded, failed, cancelled or interrupted). */
  wait(id: string): Promise<JobInfo>;
  /** Stops every running worker (SIGTERM, then SIGKILL) and waits for them. */
  close(): Promise<void>;
}

interface Entry {
  status: RunStatus;
  readonly runDir: string;
  readonly params: Record<string, unknown>;
  child?: ChildProcess;
  cancelRequested: boolean;
  killTimer?: NodeJS.Timeout;
  result?: unknown;
  error?: string;
  lastStatusWrite: number;
  waiters: ((info: JobInfo) => void)[];
}

const require = createRequire(import.meta.url);
/** tsx's loader, by absolute URL so the worker starts whatever the current directory is. */
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** A run's parameters; a folder whose config.json is missing or broken lists with none. */
function paramsOf(runDir: string): Record<string, unknown> {
  try {
    return readRunConfig(runDir).params;
  } catch {
    return {};
  }
}

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const runsDir = path.resolve(options.runsDir);
  const concurrency = options.concurrency ?? 1;
  const graceMs = options.graceMs ?? 5000;
  mkdirSync(runsDir, { recursive: true });
  const entries = new Map<string, Entry>();
  const listeners = new Map<string, Set<(payload: never) => void>>();

  function emit<E extends keyof ApiEvents>(event: E, payload: ApiEvents[E]): void {
    for (const listener of listeners.get(event) ?? []) (listener as Listener<E>)(payload);
  }

  function info(entry: Entry): JobInfo {
    const {
      pid: _pid,
      updatedAt: _updated,
      training: _training,
      message: _message,
      ...status
    } = entry.status;
    return {
      ...status,
      kind: status.kind as JobKind,
      params: entry.params,
      runDir: entry.runDir,
      ...(entry.result === undefined ? {} : { result: entry.result }),
    };
  }

  function writeStatus(entry: Entry): void {
    entry.lastStatusWrite = Date.now();
    writeRunStatus(entry.runDir, entry.status);
  }

  function appendLog(entry: Entry, id: string, text: string): void {
    appendRunLogText(entry.runDir, text);
    for (const line of text.split('\n')) if (line.trim() !== '') emit('job-log', { id, line });
  }

  function isFinished(state: RunState): boolean {
    return !ACTIVE_STATES.includes(state);
  }

  // The registry: every run on disk. A run left queued or running by an earlier process was cut
  // short (the app quit or crashed; its workers exit when their parent goes). A run folder whose
  // status.json is broken is left out rather than stopping the app from starting.
  removeLeftoverTemps(runsDir);
  for (const id of readdirSync(runsDir)) {
    if (!isRunId(id)) continue;
    const runDir = path.join(runsDir, id);
    let status: RunStatus | undefined;
    try {
      status = readRunStatus(runDir);
    } catch {
      continue;
    }
    if (status === undefined) continue;
    const entry: Entry = {
      status,
      runDir,
      params: paramsOf(runDir),
      cancelRequested: false,
      lastStatusWrite: 0,
      waiters: [],
    };
    const now = currentRunStatus(runDir)!;
    if (now.state !== status.state) {
      entry.status = { ...now, finishedAt: new Date().toISOString() };
      writeStatus(entry);
    }
    // What writes cut short left in a folder no live process works in.
    if (runLockHolder(runDir) === undefined) {
      removeLeftoverTemps(runDir);
      removeLeftoverTemps(path.join(runDir, 'checkpoints'));
    }
    if (entry.status.state === 'succeeded') entry.result = readRunResult(runDir);
    entries.set(id, entry);
  }

  function running(): number {
    return [...entries.values()].filter((e) => e.status.state === 'running').length;
  }

  function pump(): void {
    const queued = [...entries.entries()]
      .filter(([, e]) => e.status.state === 'queued')
      .sort(([, a], [, b]) => a.status.createdAt.localeCompare(b.status.createdAt));
    for (const [id, entry] of queued) {
      if (running() >= concurrency) return;
      launch(id, entry);
    }
  }

  function launch(id: string, entry: Entry): void {
    const child = fork(WORKER, [entry.runDir], {
      execArgv: ['--import', TSX_LOADER],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: process.env,
    });
    entry.child = child;
    entry.status = {
      ...entry.status,
      state: 'running',
      startedAt: new Date().toISOString(),
      ...(child.pid === undefined ? {} : { pid: child.pid }),
    };
    writeStatus(entry);
    child.stdout?.setEncoding('utf8').on('data', (text: string) => appendLog(entry, id, text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => appendLog(entry, id, text));
    child.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) handle(id, entry, message);
    });
    child.on('error', (error) => {
      entry.error ??= `the worker could not run: ${error.message}`;
    });
    child.on('exit', (code, signal) => {
      void finish(entry, code, signal);
    });
  }

  function handle(id: string, entry: Entry, message: WorkerMessage): void {
    switch (message.type) {
      case 'progress': {
        const progress: JobProgress = message.progress;
        entry.status = { ...entry.status, progress };
        // status.json follows at most once a second; listeners get every update.
        if (Date.now() - entry.lastStatusWrite > 1000) writeStatus(entry);
        emit('job-progress', { id, progress });
        break;
      }
      case 'log':
        appendLog(entry, id, `${message.line}\n`);
        break;
      case 'metrics':
        appendMetrics(entry.runDir, { time: new Date().toISOString(), ...message.values });
        break;
      case 'result':
        entry.result = message.result;
        break;
      case 'error':
        entry.error = message.error.message;
        break;
    }
  }

  async function finish(entry: Entry, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (entry.killTimer) clearTimeout(entry.killTimer);
    entry.child = undefined;
    const { pid: _pid, ...rest } = entry.status;
    const finishedAt = new Date().toISOString();
    let state: RunState;
    let error: string | undefined;
    if (code === 0 && entry.result !== undefined) {
      state = 'succeeded';
      writeRunResult(entry.runDir, entry.result);
    } else if (entry.cancelRequested) {
      state = 'cancelled';
      error = 'cancelled';
    } else {
      state = 'failed';
      const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
      const tail = await logTail(entry.runDir);
      error = `${entry.error ?? `the worker ${how} before it finished`}${tail ? `\n--- last lines of log.txt ---\n${tail}` : ''}`;
    }
    entry.status = { ...rest, state, finishedAt, ...(error === undefined ? {} : { error }) };
    writeStatus(entry);
    const finished = info(entry);
    emit('job-finished', finished);
    for (const waiter of entry.waiters.splice(0)) waiter(finished);
    pump();
  }

  function find(id: string): Entry {
    const entry = entries.get(id);
    if (entry === undefined) {
      throw new GabnError('usage', `no job '${id.slice(0, 60)}'`, { expected: 'the id of a listed job' });
    }
    return entry;
  }

  return {
    start(kind, params) {
      const createdAt = new Date().toISOString();
      const id = newRunId(kind);
      const runDir = path.join(runsDir, id);
      createRunFolder(runDir, { kind, params, createdAt });
      const entry: Entry = {
        status: { id, kind, state: 'queued', createdAt },
        runDir,
        params,
        cancelRequested: false,
        lastStatusWrite: 0,
        waiters: [],
      };
      writeStatus(entry);
      entries.set(id, entry);
      pump();
      return info(entry);
    },
    cancel(id) {
      const entry = find(id);
      if (entry.status.state === 'queued') {
        entry.cancelRequested = true;
        entry.status = {
          ...entry.status,
          state: 'cancelled',
          finishedAt: new Date().toISOString(),
          error: 'cancelled',
        };
        writeStatus(entry);
        const finished = info(entry);
        emit('job-finished', finished);
        for (const waiter of entry.waiters.splice(0)) waiter(finished);
      } else if (entry.status.state === 'running' && entry.child && !entry.cancelRequested) {
        entry.cancelRequested = true;
        const child = entry.child;
        child.kill('SIGTERM');
        entry.killTimer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      }
      return info(entry);
    },
    get: (id) => info(find(id)),
    list: () =>
      [...entries.values()]
        .map(info)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)),
    pid: (id) => find(id).child?.pid,
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (payload: never) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (payload: never) => void);
    },
    wait(id) {
      const entry = find(id);
      if (isFinished(entry.status.state)) return Promise.resolve(info(entry));
      return new Promise((resolve) => entry.waiters.push(resolve));
    },
    async close() {
      const active = [...entries.entries()].filter(([, e]) => e.child !== undefined);
      for (const [id] of active) this.cancel(id);
      await Promise.all(active.map(([id]) => this.wait(id)));
    },
  };
}

/** The runs folder inside a workspace. */
export function runsDirOf(workspace: string): string {
  return path.join(workspace, 'runs');
}

export function runExists(runsDir: string, id: string): boolean {
  return isRunId(id) && existsSync(path.join(runsDir, id, STATUS_FILE));
}
