/**
 * The service in a process of its own: `fork(service-host.ts, [options as JSON])` through tsx's loader
 * (remote-service.ts does it). Engine work (attention maps, pair scores) then never blocks the
 * process that hosts the window: Electron's main process, or the browser host's HTTP server.
 *
 * Protocol over the fork IPC channel (JSON-serialised messages):
 *   parent → here   { id, method, argument }
 *   here → parent   { id, result, roots } | { id, error, outside, roots } | { event, payload } | { ready, roots }
 * `roots` are the folders a host may serve files from, sent with every answer so the parent's copy
 * is never older than the last call it made. The process ends when its parent goes.
 */
import { errorFields } from '../base/errors.ts';
import { OutsideError } from './containment.ts';
import { API_EVENTS, type ApiMethod } from './contract.ts';
import { createService, type ServiceOptions } from './service.ts';
import { isApiMethod } from './validation.ts';

interface Request {
  readonly id: number;
  readonly method: ApiMethod;
  readonly argument: unknown;
}

function isRequest(value: unknown): value is Request {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as { id?: unknown; method?: unknown };
  return Number.isInteger(r.id) && isApiMethod(r.method);
}

function send(message: unknown): void {
  // A job that finishes while the parent goes (the app quit) has no one left to tell; its training
  // runs still report as they save while the service closes.
  if (process.connected) process.send?.(message);
}

const options = JSON.parse(process.argv[2] ?? '{}') as ServiceOptions;
const service = createService(options);
for (const event of API_EVENTS) service.on(event, (payload) => send({ event, payload }));

process.on('message', (message: unknown) => {
  if (!isRequest(message)) return;
  service.call(message.method, message.argument).then(
    (result) => send({ id: message.id, result, roots: service.allowedRoots() }),
    (error: unknown) =>
      send({
        id: message.id,
        error: errorFields(error),
        outside: error instanceof OutsideError,
        roots: service.allowedRoots(),
      }),
  );
});

process.on('disconnect', () => {
  void service.close().finally(() => process.exit(0));
});

send({ ready: true, roots: service.allowedRoots() });
