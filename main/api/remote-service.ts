/**
 * The service in its own process (service-host.ts), seen from the process that hosts the window: the
 * same calls and events as the in-process service. If the service process dies (out of memory, a
 * crash, kill -9), the calls in flight fail with an error that says so, the window stays, and the
 * next call starts a new service process (jobs live on disk: a job cut short shows as interrupted).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { childEntry } from '../base/bundle.ts';
import { fromErrorFields, GabnError } from '../base/errors.ts';
import { OutsideError } from './containment.ts';
import type { ApiError, ApiEventName, ApiEvents, ApiMethod, ApiResult } from './contract.ts';
import type { HostedService, ServiceOptions } from './service.ts';

/** The TypeScript source through tsx's loader, or in the packaged app its bundle (base/bundle.ts). */
const HOST = childEntry(new URL('./service-host.ts', import.meta.url));

type Answer =
  | { id: number; result: unknown; roots: string[] }
  | { id: number; error: ApiError; outside: boolean; roots: string[] };

interface Pending {
  readonly method: ApiMethod;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

function isAnswer(value: unknown): value is Answer {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as { id?: unknown; roots?: unknown };
  return Number.isInteger(a.id) && Array.isArray(a.roots);
}

function isEvent(value: unknown): value is { event: ApiEventName; payload: unknown } {
  return (
    typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string'
  );
}

/** The error of a failed call, as the in-process service would have thrown it. */
function errorOf(answer: Extract<Answer, { error: ApiError }>): GabnError {
  if (!answer.outside) return fromErrorFields(answer.error);
  const error = new OutsideError('');
  Object.defineProperty(error, 'message', { value: answer.error.message });
  return error;
}

export interface RemoteService extends HostedService {
  /** Calls sent and not yet answered (a failed send leaves none). */
  pendingCalls(): number;
}

export function createRemoteService(options: ServiceOptions): RemoteService {
  let child: ChildProcess | undefined;
  let roots: string[] = [];
  let nextId = 1;
  let closing = false;
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: never) => void>>();

  function start(): ChildProcess {
    const process_ = fork(HOST.file, [JSON.stringify(options)], {
      execArgv: HOST.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    process_.on('message', (message: unknown) => {
      if (isAnswer(message)) {
        roots = message.roots;
        const call = pending.get(message.id);
        if (!call) return;
        pending.delete(message.id);
        if ('error' in message) call.reject(errorOf(message));
        else call.resolve(message.result);
      } else if (isEvent(message)) {
        for (const listener of listeners.get(message.event) ?? [])
          (listener as (p: unknown) => void)(message.payload);
      } else if (
        typeof message === 'object' &&
        message !== null &&
        Array.isArray((message as { roots?: unknown }).roots)
      ) {
        roots = (message as { roots: string[] }).roots;
      }
    });
    process_.on('exit', (code, signal) => {
      if (child === process_) child = undefined;
      const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
      for (const [id, call] of pending) {
        pending.delete(id);
        call.reject(
          new GabnError(
            'internal',
            `the service process ${how} during ${call.method}; the next request starts a new one`,
          ),
        );
      }
    });
    return process_;
  }

  function call<M extends ApiMethod>(method: M, argument: unknown): Promise<ApiResult<M>> {
    if (closing) return Promise.reject(new GabnError('cancelled', 'the app is closing'));
    child ??= start();
    const id = nextId++;
    const running = child;
    return new Promise((resolve, reject) => {
      pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject });
      // A call that cannot be sent (an argument that does not serialise, a channel that just closed)
      // fails at once and leaves nothing behind: no pending entry waits for an answer that never comes.
      const failed = (error: unknown) => {
        if (!pending.delete(id)) return;
        reject(
          new GabnError('usage', `${method}: the call cannot be sent to the service process`, {
            expected: `an argument that serialises as JSON (${error instanceof Error ? error.message : String(error)})`,
          }),
        );
      };
      try {
        running.send({ id, method, argument }, (error) => {
          if (error) failed(error);
        });
      } catch (error) {
        failed(error);
      }
    });
  }

  child = start();
  return {
    workspace: options.workspace,
    call,
    on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (payload: never) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (payload: never) => void);
    },
    allowedRoots: () => roots,
    pendingCalls: () => pending.size,
    computeAttribution: (request) => call('computeAttribution', request),
    readImage: (request) => call('readImage', request),
    readRunFile: (request) => call('readRunFile', request),
    async close() {
      closing = true;
      const running = child;
      if (!running || running.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        // Disconnecting lets the service close its jobs; SIGKILL if it takes too long.
        running.disconnect();
        setTimeout(() => running.kill('SIGKILL'), 10_000).unref();
      });
    },
  };
}
