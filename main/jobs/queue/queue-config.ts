/**
 * Which runner the jobs of a workspace use: this machine's worker processes (the default: nothing to
 * set up), or a BullMQ queue on a Redis server, named by `GABN_QUEUE=redis://host:port` or by the
 * workspace's queue.json (`{"url": "redis://host:port"}`), whose workers (`gabn worker`) may be on
 * other machines. The environment wins over the file, so one session can run locally.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { z } from 'zod';
import { GabnError } from '../../base/errors.ts';
import { readUntrustedText } from '../../base/untrusted-files.ts';
import { describeProblem, problemsOf, record, text } from '../../base/validation.ts';

export const QUEUE_ENV = 'GABN_QUEUE';
export const QUEUE_SETTING_FILE = 'queue.json';

/** Every queue's keys in Redis start with this (a Redis server may hold other things too). */
export const QUEUE_PREFIX = 'gabn';

/** The queue of a job kind: a worker takes the kinds it is asked to, each from its own queue. */
export function queueNameOf(kind: string): string {
  return `jobs-${kind}`;
}

/** A Redis URL, checked: redis:// or rediss:// (TLS), a host, and a port when given. */
export function checkQueueUrl(url: string, where: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GabnError('usage', `${where} is not a URL: '${url.slice(0, 200)}'`, {
      expected: 'redis://host:port',
    });
  }
  if (!['redis:', 'rediss:'].includes(parsed.protocol) || parsed.hostname === '')
    throw new GabnError('usage', `${where} is not a Redis URL: '${url.slice(0, 200)}'`, {
      expected: 'redis://host:port or rediss://host:port',
    });
  return url;
}

const setting = record({ url: text(2048) });

/** The queue a workspace's jobs go to, or undefined for this machine's runner. */
export function queueUrlFor(workspace: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env[QUEUE_ENV]?.trim();
  if (fromEnv) return checkQueueUrl(fromEnv, QUEUE_ENV);
  const file = path.join(workspace, QUEUE_SETTING_FILE);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readUntrustedText(file, { what: QUEUE_SETTING_FILE, maxBytes: 64 * 1024 }));
  } catch (error) {
    if (error instanceof GabnError) throw error;
    throw new GabnError('malformed', `not valid JSON: ${(error as Error).message}`, { file });
  }
  const problems = problemsOf(setting as z.ZodType, json);
  if (problems.length > 0)
    throw new GabnError('malformed', problems.map(describeProblem).join('; '), {
      file,
      expected: '{"url": "redis://host:port"}',
    });
  return checkQueueUrl((json as { url: string }).url, file);
}

/** The URL as shown to people: no user name or password. */
export function shownQueueUrl(url: string): string {
  const shown = new URL(url);
  shown.username = '';
  shown.password = '';
  return shown.toString().replace(/\/$/, '');
}

/** BullMQ's connection options for a URL (a blocking worker connection must retry forever). */
export function connectionOf(url: string) {
  return { url, maxRetriesPerRequest: null };
}

/** Whether the Redis of `url` answers, within a few seconds: a clear refusal instead of endless retries. */
export async function checkQueueReachable(url: string, timeoutMs = 5000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The socket's own error (ECONNREFUSED, a DNS failure) says more than the closed connection after it.
  let cause: string | undefined;
  client.on('error', (error: Error) => {
    cause ??= error.message;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new GabnError(
      'usage',
      `the queue's Redis at ${url} does not answer: ${cause ?? (error as Error).message}`,
      {
        expected: 'a running Redis server that this machine can reach (docs/scale-out.md)',
      },
    );
  } finally {
    client.disconnect();
  }
}
