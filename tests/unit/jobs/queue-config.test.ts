/**
 * Which runner a workspace's jobs use: none configured is this machine's (nothing needs Redis);
 * GABN_QUEUE, else the workspace's queue.json, names a Redis; anything else is refused naming where
 * it came from and the form expected.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { workspaceQueue } from '../../../main/jobs/queue/queue-client.ts';
import {
  checkQueueReachable,
  checkQueueUrl,
  queueNameOf,
  queueUrlFor,
  shownQueueUrl,
} from '../../../main/jobs/queue/queue-config.ts';

function workspace(setting?: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-queue-config-'));
  if (setting !== undefined) writeFileSync(path.join(dir, 'queue.json'), setting);
  return dir;
}

function refusal(run: () => unknown): GabnError {
  try {
    run();
  } catch (error) {
    if (error instanceof GabnError) return error;
    throw error;
  }
  throw new Error('expected a GabnError');
}

describe('the queue of a workspace', () => {
  it('is none without GABN_QUEUE or queue.json: the local runner, no Redis', () => {
    const dir = workspace();
    expect(queueUrlFor(dir, {})).toBeUndefined();
    expect(workspaceQueue(dir)).toBeUndefined();
  });

  it('comes from GABN_QUEUE first, then from queue.json', () => {
    const dir = workspace('{"url": "redis://cache.lab:6380"}');
    expect(queueUrlFor(dir, {})).toBe('redis://cache.lab:6380');
    expect(queueUrlFor(dir, { GABN_QUEUE: 'redis://10.0.0.2:6379' })).toBe('redis://10.0.0.2:6379');
    expect(queueUrlFor(workspace(), { GABN_QUEUE: ' rediss://queue.lab:6390 ' })).toBe(
      'rediss://queue.lab:6390',
    );
  });

  it('refuses what is not a Redis URL, naming where it came from', () => {
    const env = refusal(() => queueUrlFor(workspace(), { GABN_QUEUE: 'http://queue.lab' }));
    expect(env.message).toMatch(/GABN_QUEUE is not a Redis URL: 'http:\/\/queue.lab'/);
    expect(env.expected).toContain('redis://host:port');
    const file = refusal(() => queueUrlFor(workspace('{"url": 6379}'), {}));
    expect(file.file).toMatch(/queue\.json$/);
    expect(file.message).toContain('url');
    const json = refusal(() => queueUrlFor(workspace('{url'), {}));
    expect(json.kind).toBe('malformed');
    expect(refusal(() => checkQueueUrl('redis:', '--queue')).message).toContain('--queue');
  });

  it('refuses a Redis that does not answer, saying why, instead of retrying for ever', async () => {
    // Port 1 of loopback: nothing listens there.
    await expect(checkQueueReachable('redis://127.0.0.1:1', 2000)).rejects.toThrow(
      /Redis at redis:\/\/127\.0\.0\.1:1 does not answer: connect ECONNREFUSED/,
    );
  });

  it('is shown without its credentials', () => {
    expect(shownQueueUrl('redis://:s3cret@queue.lab:6379')).toBe('redis://queue.lab:6379');
    expect(shownQueueUrl('rediss://worker:pw@10.0.0.2:6380/2')).toBe('rediss://10.0.0.2:6380/2');
    expect(shownQueueUrl('redis://queue.lab:6379')).toBe('redis://queue.lab:6379');
  });

  it('puts each kind in a queue of its own, so a worker takes the kinds it is given', () => {
    expect(queueNameOf('train')).toBe('jobs-train');
    expect(queueNameOf('audit-shard')).toBe('jobs-audit-shard');
  });
});
