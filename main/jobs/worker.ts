/**
 * A job's worker process: `fork(worker.ts, [runDir])` through tsx's loader. Reads the run's
 * config.json, runs the job kind, reports over the IPC channel (protocol.ts), and exits. SIGTERM
 * cancels the job (after its current step; a training run at once, keeping its last checkpoint); a
 * 'stop' message stops a training run after its current step with a resume point; losing the parent
 * (the app quit) stops it too.
 */
import { errorFields, GabnError } from '../base/errors.ts';
import { readRunConfig } from '../runs/run-folder.ts';
import { acquireRunLock } from '../runs/run-lock.ts';
import { SELF_REPORTING_KINDS } from './kind-traits.ts';
import { JOB_KINDS } from './kinds/index.ts';
import {
  isParentMessage,
  type JobContext,
  type StopReason,
  WORKER_NAME_ENV,
  type WorkerMessage,
} from './protocol.ts';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      process.stdout.write(`${JSON.stringify(message)}\n`);
      resolve();
      return;
    }
    // A worker whose app went keeps working to its next resume point, with nobody to tell.
    if (!process.connected) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

async function runKind(kind: string, params: unknown, context: JobContext): Promise<unknown> {
  const run = (JOB_KINDS as Record<string, (params: unknown, context: JobContext) => Promise<unknown>>)[kind];
  if (run === undefined) {
    throw new GabnError('usage', `unknown job kind '${kind}'`, {
      expected: Object.keys(JOB_KINDS).join(', '),
    });
  }
  return run(params, context);
}

/** How long a training run that lost its app may go on to finish its step and save a resume point. */
const ORPHAN_GRACE_MS = 60_000;

async function main(): Promise<number> {
  const runDir = process.argv[2];
  if (runDir === undefined) throw new GabnError('usage', 'the worker needs a run directory');
  const config = readRunConfig(runDir);
  const selfReporting = SELF_REPORTING_KINDS.has(config.kind);
  // The folder is this process's while it works: a second worker on the same run is refused. A
  // self-reporting kind's use case takes the lock itself (kind-traits.ts).
  if (!selfReporting) {
    const lock = acquireRunLock(runDir, `the ${config.kind} job`);
    process.on('exit', () => lock.release());
  }
  const controller = new AbortController();
  let stopReason: StopReason | undefined;
  const stop = (reason: StopReason) => {
    stopReason ??= reason;
    controller.abort(new GabnError('cancelled', reason === 'stop' ? 'stopped on request' : 'the app closed'));
  };
  process.on('message', (message: unknown) => {
    if (isParentMessage(message)) stop(message.reason);
  });
  process.on('SIGTERM', () => {
    // Cancel: a run that writes its own resume points ends at once, keeping its last checkpoint.
    if (selfReporting) process.exit(143);
    controller.abort(new GabnError('cancelled', 'cancelled by SIGTERM'));
  });
  // With the app gone, its end of the output pipes is closed: writing there must not end the job.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  process.on('disconnect', () => {
    // The app went without a word: a training run saves where it is; other jobs end.
    stop('close');
    setTimeout(() => process.exit(130), selfReporting ? ORPHAN_GRACE_MS : 2000).unref();
  });
  let lastProgress = 0;
  const worker = process.env[WORKER_NAME_ENV];
  const context: JobContext = {
    runDir,
    ...(worker ? { worker } : {}),
    signal: controller.signal,
    stopReason: () => stopReason,
    progress(done, total, message) {
      // At most 20 messages a second, and always the last one.
      const now = Date.now();
      if (done < total && now - lastProgress < 50) return;
      lastProgress = now;
      void send({ type: 'progress', progress: { done, total, ...(message ? { message } : {}) } });
    },
    log: (line) => void send({ type: 'log', line }),
    metrics: (values) => void send({ type: 'metrics', values }),
  };
  try {
    const result = await runKind(config.kind, config.params, context);
    await send({ type: 'result', result: result ?? null });
    return 0;
  } catch (error) {
    const apiError = errorFields(error);
    process.stderr.write(`${apiError.message}\n`);
    if (!(error instanceof GabnError) && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    await send({ type: 'error', error: apiError });
    return apiError.kind === 'cancelled' ? 130 : 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
