/**
 * The browser host for the app benchmarks: the demo workspace they run on, `gabn serve` as a child
 * process (as a user starts it), the URL it announces, and calls to its HTTP API with the token as a
 * bearer credential.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { missingDemoParts, prepareDemoWorkspace } from '../main/usecases/workspace/demo-workspace.ts';

/** $GABN_WORKSPACE, else ~/.gabn-studio/demo when it is ready, else one of our own under the temp folder. */
export async function benchWorkspace(): Promise<string> {
  const home = path.join(os.homedir(), '.gabn-studio', 'demo');
  const chosen =
    process.env.GABN_WORKSPACE ??
    (existsSync(home) && missingDemoParts(home).length === 0
      ? home
      : path.join(os.tmpdir(), 'gabn-bench-app-demo'));
  const missing = missingDemoParts(chosen);
  if (missing.length > 0) {
    console.log(`preparing the demo workspace ${chosen} (${missing.join(', ')})…`);
    await prepareDemoWorkspace(chosen, { log: (line) => console.log(`  ${line}`) });
  }
  return chosen;
}

export interface Host {
  readonly process: ChildProcess;
  /** http://127.0.0.1:P/?token=… as announced. */
  readonly url: string;
  readonly origin: string;
  readonly token: string;
  call<T>(method: string, argument?: unknown): Promise<T>;
  /** GET of a path under the origin; resolves with the status and the body's size once fully read. */
  get(pathAndQuery: string): Promise<{ status: number; bytes: number }>;
  stop(): void;
}

export async function startServe(workspace: string, env: NodeJS.ProcessEnv): Promise<Host> {
  const child = spawn(process.execPath, ['bin/gabn.js', 'serve', '--workspace', workspace], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const found = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(text);
      if (found) resolve(found[1]!);
    });
    child.on('exit', (code) => reject(new Error(`gabn serve exited with ${code}: ${text}`)));
  });
  // Keep draining its output so that the pipe never fills.
  child.stdout!.resume();
  const parsed = new URL(url);
  const token = parsed.searchParams.get('token')!;
  const origin = parsed.origin;
  const headers = { Authorization: `Bearer ${token}` };
  return {
    process: child,
    url,
    origin,
    token,
    async call<T>(method: string, argument?: unknown): Promise<T> {
      const response = await fetch(`${origin}/api/${method}`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: argument === undefined ? '' : JSON.stringify(argument),
      });
      const body = (await response.json()) as { result?: T; error?: { message: string } };
      if (!response.ok || body.error) {
        throw new Error(`${method}: ${body.error?.message ?? `HTTP ${response.status}`}`);
      }
      return body.result as T;
    },
    async get(pathAndQuery: string) {
      const response = await fetch(`${origin}${pathAndQuery}`, { headers });
      const bytes = (await response.arrayBuffer()).byteLength;
      return { status: response.status, bytes };
    },
    stop() {
      child.kill('SIGTERM');
    },
  };
}
