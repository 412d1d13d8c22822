/**
 * A job's worker process: `fork(worker.ts, [runDir])` through tsx's loader. Reads the run's
 * config.json, runs the job kind, reports over the IPC channel (protocol.ts), and exits. SIGTERM
 * stops the job after its current step; losing the parent (the app quit) stops it too.
 */
import { errorFields, GabnError } from '../base/errors.ts';
import { readRunConfig } from '../runs/run-folder.ts';
import { acquireRunLock } from '../runs/run-lock.ts';
import { JOB_KINDS } from './kinds/index.ts';
import type { JobContext, WorkerMessage } from './protocol.ts';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      process.stdout.write(`${JSON.stringify(message)}\n`);
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

async function main(): Promise<number> {
  const runDir = process.argv[2];
  if (runDir === undefined) throw new GabnError('usage', 'the worker needs a run directory');
  const config = readRunConfig(runDir);
  // The folder is this process's while it works: a second worker on the same run is refused.
  const lock = acquireRunLock(runDir, `the ${config.kind} job`);
  process.on('exit', () => lock.release());
  const controller = new AbortController();
  process.on('SIGTERM', () => controller.abort(new GabnError('cancelled', 'cancelled by SIGTERM')));
  process.on('disconnect', () => {
    controller.abort(new GabnError('cancelled', 'the app that started the job has gone'));
    setTimeout(() => process.exit(130), 2000).unref();
  });
  let lastProgress = 0;
  const context: JobContext = {
    runDir,
    signal: controller.signal,
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
