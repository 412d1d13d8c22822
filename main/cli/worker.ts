/**
 * `gabn worker`: a queue worker on this machine (jobs/queue/queue-worker.ts). It takes jobs of the
 * app's queue (GABN_QUEUE, the workspace's queue.json, or --queue) from the shared runs folder, one
 * at a time of each kind by default, and prints what it does. Ctrl-C or SIGTERM: it takes no more
 * jobs, a training run saves a resume point and goes back to the queue, other jobs finish; a second
 * Ctrl-C quits at once (the queue hands its jobs to another worker).
 */
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { BACKEND_LADDER, parseBackendName } from '../engine/backends.ts';
import { QUEUE_KIND_NAMES } from '../jobs/kind-traits.ts';
import { checkQueueReachable, checkQueueUrl, QUEUE_ENV, queueUrlFor } from '../jobs/queue/queue-config.ts';
import { type QueueWorkerEvent, startQueueWorker } from '../jobs/queue/queue-worker.ts';
import { runsDirOf } from '../jobs/runner.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { workspaceOption } from './serve.ts';

const options = {
  queue: {
    type: 'string',
    description: `the Redis of the queue, redis://host:port (default $${QUEUE_ENV} or the workspace's queue.json)`,
  },
  workspace: {
    type: 'string',
    description:
      'the shared workspace as this machine mounts it (default $GABN_WORKSPACE or ~/.gabn-studio/demo)',
  },
  runs: { type: 'string', description: "the shared runs folder, when not the workspace's runs/" },
  concurrency: { type: 'number', description: 'jobs of each kind at once (default 1)' },
  backend: {
    type: 'string',
    description: `the compute backend of its jobs: ${BACKEND_LADDER.join(', ')} (default: the ladder)`,
  },
  kinds: {
    type: 'strings',
    description: `the job kinds it takes, comma separated (default all: ${QUEUE_KIND_NAMES.join(', ')})`,
  },
  name: { type: 'string', description: 'its name in the Runs view (default host/pid)' },
  'lock-ms': {
    type: 'number',
    description:
      "how long a job's lock lasts unrenewed: how soon a dead worker's job goes to another (default 30000)",
  },
} as const;

function kindsOption(value: unknown): string[] {
  const kinds = ((value as string[] | undefined) ?? []).flatMap((k) => k.split(',')).map((k) => k.trim());
  if (kinds.length === 0) return [...QUEUE_KIND_NAMES];
  for (const kind of kinds)
    if (!(QUEUE_KIND_NAMES as readonly string[]).includes(kind))
      throw new GabnError('usage', `--kinds: unknown job kind '${kind.slice(0, 60)}'`, {
        expected: QUEUE_KIND_NAMES.join(', '),
      });
  return kinds;
}

function wholeNumber(value: unknown, option: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = value as number;
  if (!(Number.isInteger(n) && n >= min && n <= max))
    throw new GabnError('usage', `--${option} ${n}`, { expected: `a whole number in [${min}, ${max}]` });
  return n;
}

function describe(event: QueueWorkerEvent): string {
  const time = new Date().toISOString().slice(11, 19);
  switch (event.type) {
    case 'started':
      return `${time} ${event.run}: started`;
    case 'waiting':
      return `${time} ${event.run}: waits (for the jobs it follows, or its folder's last process)`;
    case 'handed-back':
      return `${time} ${event.run}: saved and handed back to the queue`;
    case 'progress': {
      const { done, total, message } = event.progress;
      return `${time} ${event.run}: ${message ?? 'progress'} ${done}/${total}`;
    }
    case 'ended':
      return `${time} ${event.run}: ${event.state}${event.error ? ` (${event.error.split('\n')[0]})` : ''}`;
    case 'error':
      return `${time} queue: ${event.message}`;
  }
}

export const workerCommand: CliCommand = {
  path: ['worker'],
  summary: "run the app's queued jobs on this machine (a BullMQ queue on Redis)",
  usage: `gabn worker [--queue redis://host:port] [--concurrency N] [--backend B] [--kinds K,…]\n\nTakes jobs from the queue of a workspace whose jobs go to a queue ($${QUEUE_ENV} or its queue.json),\nruns each in the shared run folder the app prepared, and reports progress, metrics and logs there\nand on the queue. Ctrl-C: no more jobs; a training run saves a resume point and goes back to the\nqueue, other jobs finish. docs/scale-out.md: Redis, shared storage, several machines.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
    const workspace = workspaceOption(o.workspace);
    const url = o.queue === undefined ? queueUrlFor(workspace) : checkQueueUrl(o.queue as string, '--queue');
    if (url === undefined)
      throw new GabnError('usage', 'no queue given', {
        expected: `--queue redis://host:port, $${QUEUE_ENV}, or the workspace's queue.json`,
      });
    const backend = o.backend === undefined ? undefined : parseBackendName(o.backend as string, '--backend');
    const concurrency = wholeNumber(o.concurrency, 'concurrency', 1, 64);
    const lockMs = wholeNumber(o['lock-ms'], 'lock-ms', 1000, 3_600_000);
    const runsDir = o.runs === undefined ? runsDirOf(workspace) : path.resolve(o.runs as string);
    const kinds = kindsOption(o.kinds);
    await checkQueueReachable(url);
    let lastError = '';
    const worker = await startQueueWorker({
      url,
      runsDir,
      kinds,
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(lockMs === undefined ? {} : { lockMs }),
      ...(o.name === undefined ? {} : { name: o.name as string }),
      ...(backend === undefined ? {} : { env: { GABN_BACKEND: backend } }),
      onEvent: (event) => {
        // A Redis that went away is retried by every connection: said once, until it changes.
        if (event.type === 'error' && event.message === lastError) return;
        lastError = event.type === 'error' ? event.message : '';
        context.stdout.write(`${describe(event)}\n`);
      },
    });
    context.stdout.write(`worker ${worker.name}: ${url}, runs in ${runsDir}, kinds ${kinds.join(', ')}\n`);
    context.stdout.write('Press Ctrl-C to stop.\n');
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) resolve();
      context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    context.stdout.write('stopping: no more jobs; a training run saves a resume point\n');
    await worker.close();
    return 0;
  },
};
