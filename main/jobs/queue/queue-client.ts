/**
 * The app's side of the queue: it puts a run, already prepared in the shared runs folder, into the
 * queue of its kind, and takes back one no worker has started. What a job does and where it is is in
 * its run folder (workers write it there), so the registry and the Runs view read a queued job as
 * they read a local one.
 */
import { Queue, QueueEventsProducer } from 'bullmq';
import { connectionOf, QUEUE_PREFIX, queueNameOf, queueUrlFor } from './queue-config.ts';

/**
 * A person's Cancel or Stop of a job a worker runs, published on its kind's queue as a BullMQ custom
 * event: the worker that runs it acts on it (queue-worker.ts), the others ignore it.
 */
export const REQUEST_EVENT = 'gabn-request';
export interface RunRequest {
  readonly eventName: typeof REQUEST_EVENT;
  readonly run: string;
  readonly what: 'cancel' | 'stop';
}

/** What a queued job carries: the name of its run folder, the same on every machine. */
export interface QueuedRun {
  readonly run: string;
}

/**
 * Retries of a job whose worker handed it back or found its folder still locked; a worker that died
 * is BullMQ's stalled job, counted apart (queue-worker.ts).
 */
export const JOB_ATTEMPTS = 5;
const RETRY_DELAY_MS = 2000;
/** A Redis that does not take a job by then fails it (the connection retries forever otherwise). */
const ADD_TIMEOUT_MS = 15_000;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export interface JobQueue {
  readonly url: string;
  add(kind: string, run: string): Promise<void>;
  /** Removes a job no worker has taken yet; false when one has. */
  withdraw(kind: string, run: string): Promise<boolean>;
  /** Asks the worker running `run` to cancel it, or to stop it after its current step. */
  ask(kind: string, run: string, what: RunRequest['what']): Promise<void>;
  close(): Promise<void>;
}

export function connectJobQueue(url: string): JobQueue {
  const queues = new Map<string, Queue<QueuedRun>>();
  const producers = new Map<string, QueueEventsProducer>();
  const queueOf = (kind: string) => {
    let queue = queues.get(kind);
    if (queue === undefined) {
      queue = new Queue<QueuedRun>(queueNameOf(kind), {
        connection: connectionOf(url),
        prefix: QUEUE_PREFIX,
      });
      // A Redis out of reach fails the jobs given to it, each saying so (add below): no more to say.
      queue.on('error', () => {});
      queues.set(kind, queue);
    }
    return queue;
  };
  return {
    url,
    async add(kind, run) {
      const queue = queueOf(kind);
      const add = async () => {
        // A run queued again (Resume) is a new job under the same id: the last one goes first.
        await (await queue.getJob(run))?.remove();
        await queue.add(kind, { run } satisfies QueuedRun, {
          jobId: run,
          attempts: JOB_ATTEMPTS,
          backoff: { type: 'fixed', delay: RETRY_DELAY_MS },
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 1000 },
        });
      };
      // Failed past the timeout, a job the queue takes after all is left by its worker (queue-worker.ts).
      await within(add(), ADD_TIMEOUT_MS, 'reaching the queue');
    },
    async withdraw(kind, run) {
      const job = await queueOf(kind).getJob(run);
      if (job === undefined) return true;
      const state = await job.getState();
      if (state === 'active') return false;
      await job.remove();
      return true;
    },
    async ask(kind, run, what) {
      let producer = producers.get(kind);
      if (producer === undefined) {
        producer = new QueueEventsProducer(queueNameOf(kind), {
          connection: connectionOf(url),
          prefix: QUEUE_PREFIX,
        });
        producers.set(kind, producer);
      }
      await producer.publishEvent({ eventName: REQUEST_EVENT, run, what } satisfies RunRequest);
    },
    async close() {
      await Promise.all([...queues.values(), ...producers.values()].map((q) => q.close()));
    },
  };
}

/** The queue of a workspace's jobs when one is configured (queue-config.ts), else undefined. */
export function workspaceQueue(workspace: string): JobQueue | undefined {
  const url = queueUrlFor(workspace);
  return url === undefined ? undefined : connectJobQueue(url);
}
