/**
 * The browser host's client: POST /api/<method> with the argument as JSON (the token travels in the
 * HttpOnly cookie set when the page was first opened), and events over a WebSocket at /events that
 * reconnects after a drop.
 */
import type {
  ApiArgument,
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiResult,
} from '../../../main/api/contract.ts';
import { ApiCallError, type ApiClient } from './client.ts';

type AnyListener = (payload: unknown) => void;

export function createHttpClient(base: URL = new URL(document.baseURI)): ApiClient {
  const listeners = new Map<ApiEventName, Set<AnyListener>>();
  let socket: WebSocket | undefined;
  let retry = 500;

  function connect(): void {
    const url = new URL('events', base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url);
    socket.onopen = () => {
      retry = 500;
    };
    socket.onmessage = (message) => {
      const { event, payload } = JSON.parse(String(message.data)) as {
        event: ApiEventName;
        payload: unknown;
      };
      for (const listener of listeners.get(event) ?? []) listener(payload);
    };
    socket.onclose = () => {
      socket = undefined;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10_000);
    };
  }

  async function call<M extends ApiMethod>(method: M, argument: ApiArgument<M>): Promise<ApiResult<M>> {
    const response = await fetch(new URL(`api/${method}`, base), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: argument === undefined ? '' : JSON.stringify(argument),
    });
    const body = (await response.json().catch(() => ({}))) as {
      result?: unknown;
      error?: { kind: string; message: string };
    };
    if (!response.ok || body.error) {
      throw new ApiCallError(
        body.error?.kind ?? 'internal',
        body.error?.message ?? `HTTP ${response.status}`,
      );
    }
    return body.result as ApiResult<M>;
  }

  function on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    if (socket === undefined) connect();
    const set = listeners.get(event) ?? new Set();
    set.add(listener as AnyListener);
    listeners.set(event, set);
    return () => set.delete(listener as AnyListener);
  }

  return { host: 'browser', call, on };
}
