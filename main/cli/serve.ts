/**
 * `gabn serve`: the browser host. The same service as the desktop app, on 127.0.0.1 only, behind a
 * random token printed in the URL (docs/app.md explains the security model).
 */
import path from 'node:path';
import { startBrowserHost } from '../api/http.ts';
import { createRemoteService } from '../api/remote-service.ts';
import { GabnError } from '../base/errors.ts';
import { defaultWorkspace } from '../usecases/workspace/workspace.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';

const options = {
  port: { type: 'number', description: 'the port on 127.0.0.1 (default: any free port)' },
  workspace: {
    type: 'string',
    description: 'the workspace (default $GABN_WORKSPACE or ~/.gabn-studio/demo)',
  },
} as const;

/** --port: any free port when absent. */
export function portOption(value: unknown): number | undefined {
  const port = value as number | undefined;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new GabnError('usage', `--port ${port}`, { expected: 'an integer in [0, 65535]' });
  }
  return port;
}

/** --workspace, else $GABN_WORKSPACE or the default demo workspace. */
export function workspaceOption(value: unknown): string {
  return path.resolve((value as string | undefined) ?? defaultWorkspace());
}

/** Runs the browser host until the context's signal (Ctrl-C) aborts. */
export async function serveUntilAborted(
  workspace: string,
  port: number | undefined,
  context: CliContext,
  settings: { readonly prepareDemo?: boolean } = {},
): Promise<number> {
  // The service runs in a process of its own, so the HTTP server answers while a map is computed.
  const service = createRemoteService({ workspace, host: 'browser', ...settings });
  const host = await startBrowserHost(service, port === undefined ? {} : { port });
  context.stdout.write(`GABN Studio (browser host) for the workspace ${workspace}\nOpen ${host.url}\n`);
  context.stdout.write('Press Ctrl-C to stop.\n');
  await new Promise<void>((resolve) => {
    if (context.signal.aborted) resolve();
    context.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await host.close();
  await service.close();
  return 0;
}

export const serveCommand: CliCommand = {
  path: ['serve'],
  summary: 'serve the app to a browser on this machine (127.0.0.1, with a token)',
  usage: `gabn serve [--port P] [--workspace DIR]\n\nStarts the browser host: HTTP and WebSocket on 127.0.0.1 only, with a random token made at each\nstart, and prints the URL to open (http://127.0.0.1:P/?token=…). Serves the built renderer\n(renderer/dist: 'npm run build:renderer' builds it) and the API.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
    return serveUntilAborted(workspaceOption(o.workspace), portOption(o.port), context);
  },
};
