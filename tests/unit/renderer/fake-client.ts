/**
 * An in-memory ApiClient for store and component tests: answers each method with a handler the test
 * gives, records every call, and lets the test emit events as a host would.
 */
import type {
  ApiArgument,
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiResult,
} from '../../../main/api/contract.ts';
import type { ApiClient } from '../../../renderer/src/api/client.ts';

export type Handlers = {
  [M in ApiMethod]?: (argument: ApiArgument<M>) => ApiResult<M> | Promise<ApiResult<M>>;
};

export interface FakeClient extends ApiClient {
  readonly calls: { method: ApiMethod; argument: unknown }[];
  emit<E extends ApiEventName>(event: E, payload: ApiEvents[E]): void;
  callsOf(method: ApiMethod): unknown[];
}

export function fakeClient(handlers: Handlers): FakeClient {
  const calls: { method: ApiMethod; argument: unknown }[] = [];
  const listeners = new Map<string, Set<(payload: never) => void>>();
  return {
    host: 'browser',
    calls,
    async call<M extends ApiMethod>(method: M, argument: ApiArgument<M>): Promise<ApiResult<M>> {
      calls.push({ method, argument });
      const handler = handlers[method] as
        | ((a: ApiArgument<M>) => ApiResult<M> | Promise<ApiResult<M>>)
        | undefined;
      if (!handler) throw new Error(`no handler for ${method}`);
      return handler(argument);
    },
    on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (payload: never) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (payload: never) => void);
    },
    emit(event, payload) {
      for (const listener of listeners.get(event) ?? []) (listener as (p: typeof payload) => void)(payload);
    },
    callsOf: (method) => calls.filter((c) => c.method === method).map((c) => c.argument),
  };
}

/** base64 of float32 values, as the hosts send maps. */
export function encodeMap(values: number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString('base64');
}
