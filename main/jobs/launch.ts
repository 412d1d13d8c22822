/**
 * One job's worker process, from its start until how it ended is known: `fork` of worker.ts on the
 * run folder, its output into log.txt, its messages (protocol.ts) into the entry and the run folder,
 * and its end (job-end.ts). The local runner launches every job through it, and a queue worker
 * (queue/queue-worker.ts) the jobs it takes, so a job runs the same way whichever started it.
 */
import { fork } from 'node:child_process';
import type { JobProgress } from '../api/contract.ts';
import { childEntry } from '../base/bundle.ts';
import { appendMetrics, appendRunLogText, writeRunStatus } from '../runs/run-folder.ts';
import { type Entry, isSelfReporting } from './entry.ts';
import { type JobEnd, jobEnd } from './job-end.ts';
import { isWorkerMessage, type WorkerMessage } from './protocol.ts';

/** The TypeScript source through tsx's loader, or in the packaged app its bundle (base/bundle.ts). */
const WORKER = childEntry(new URL('./worker.ts', import.meta.url));

export interface LaunchHooks {
  /** Extra environment of the worker (the queue worker's name, a backend). */
  readonly env?: Record<string, string>;
  /** In a process group of its own: a Ctrl-C at the terminal of a queue worker does not reach it. */
  readonly detached?: boolean;
  /** Status of the entry, as running, before the worker does anything. */
  readonly started?: () => void;
  readonly onLine?: (line: string) => void;
  readonly onProgress?: (progress: JobProgress) => void;
  readonly onMetrics?: (values: Record<string, unknown>) => void;
}

export function writeEntryStatus(entry: Entry): void {
  entry.lastStatusWrite = Date.now();
  writeRunStatus(entry.runDir, entry.status);
}

/**
 * Starts the worker on `entry` (its status becomes running, written at once) and resolves with how
 * the job ended, once the worker is gone. The caller writes the end (`end.write`) and the result.
 */
export function launchWorker(entry: Entry, hooks: LaunchHooks = {}): Promise<JobEnd> {
  const child = fork(WORKER.file, [entry.runDir], {
    execArgv: WORKER.execArgv,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...hooks.env },
    ...(hooks.detached ? { detached: true } : {}),
  });
  entry.child = child;
  entry.ending = undefined;
  entry.error = undefined;
  entry.result = undefined;
  const { finishedAt: _f, error: _e, ...rest } = entry.status;
  // Written before the worker starts: a self-reporting one writes its own from its first step.
  entry.status = {
    ...rest,
    state: 'running',
    startedAt: new Date().toISOString(),
    ...(child.pid === undefined ? {} : { pid: child.pid }),
  };
  writeEntryStatus(entry);
  hooks.started?.();
  const own = isSelfReporting(entry);
  const appendLog = (text: string) => {
    appendRunLogText(entry.runDir, text);
    for (const line of text.split('\n')) if (line.trim() !== '') hooks.onLine?.(line);
  };
  const handle = (message: WorkerMessage) => {
    switch (message.type) {
      case 'progress':
        entry.status = { ...entry.status, progress: message.progress };
        // status.json follows at most once a second (a self-reporting worker writes its own).
        if (!own && Date.now() - entry.lastStatusWrite > 1000) writeEntryStatus(entry);
        hooks.onProgress?.(message.progress);
        break;
      case 'log':
        if (own) hooks.onLine?.(message.line);
        else appendLog(`${message.line}\n`);
        break;
      case 'metrics':
        if (!own) appendMetrics(entry.runDir, { time: new Date().toISOString(), ...message.values });
        hooks.onMetrics?.(message.values);
        break;
      case 'result':
        entry.result = message.result;
        break;
      case 'error':
        entry.error = message.error.message;
        entry.errorKind = message.error.kind;
        break;
    }
  };
  child.stdout?.setEncoding('utf8').on('data', appendLog);
  child.stderr?.setEncoding('utf8').on('data', appendLog);
  child.on('message', (message: unknown) => {
    if (isWorkerMessage(message)) handle(message);
  });
  child.on('error', (error) => {
    entry.error ??= `the worker could not run: ${error.message}`;
  });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      if (entry.killTimer) clearTimeout(entry.killTimer);
      void jobEnd(entry, code, signal).then(resolve);
    });
  });
}
