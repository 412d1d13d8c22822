/**
 * The service in its own process: the same answers, errors and events as in process; a service
 * process killed with SIGKILL fails the call in flight clearly and the next call works.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvents, DatasetSummary } from '../../../main/api/contract.ts';
import { createRemoteService, type RemoteService } from '../../../main/api/remote-service.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { GabnError } from '../../../main/base/errors.ts';
import { makeTinyWorkspace, type TinyWorkspace } from './tiny-workspace.ts';

let tiny: TinyWorkspace;
let local: GabnService;
let remote: RemoteService;
let dataset: DatasetSummary;

beforeAll(async () => {
  tiny = await makeTinyWorkspace(mkdtempSync(path.join(os.tmpdir(), 'gabn-remote-')));
  const options = { workspace: tiny.workspace, host: 'browser' as const, embeddingCacheDir: null };
  local = createService(options);
  remote = createRemoteService(options);
  dataset = (await remote.call('listDatasets', undefined))[0]!;
});

afterAll(async () => {
  await remote?.close();
  await local?.close();
});

describe('the service in its own process', () => {
  it('answers as the in-process service does', async () => {
    expect(await remote.call('listDatasets', undefined)).toEqual(await local.call('listDatasets', undefined));
    const checkpoint = await remote.call('openCheckpoint', tiny.checkpoint);
    expect(checkpoint).toEqual(await local.call('openCheckpoint', tiny.checkpoint));
    const request = {
      checkpointId: checkpoint.id,
      datasetId: dataset.id,
      imageId: 7,
      method: 'gam' as const,
    };
    const map = await remote.computeAttribution(request);
    expect(map).toEqual(await local.computeAttribution(request));
    // The roots a host may serve files from follow the opened checkpoint.
    expect(remote.allowedRoots()).toContain(checkpoint.path);
  });

  it('fails a call with the error the service gave, kind and message', async () => {
    const error = await remote
      .call('openCheckpoint', path.join(tiny.workspace, 'nowhere.gabn'))
      .catch((e) => e);
    expect(error).toBeInstanceOf(GabnError);
    const expected = await local
      .call('openCheckpoint', path.join(tiny.workspace, 'nowhere.gabn'))
      .catch((e) => e);
    expect((error as GabnError).kind).toBe((expected as GabnError).kind);
    expect((error as GabnError).message).toBe((expected as GabnError).message);
  });

  it('keeps nothing of a call that cannot be sent: it fails at once, and the next call works', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    for (const argument of [10n, circular, deep]) {
      const error = await remote.call('openDataset', argument).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GabnError);
      expect((error as GabnError).kind).toBe('usage');
      expect((error as GabnError).message).toMatch(
        /^openDataset: the call cannot be sent to the service process/,
      );
      expect(remote.pendingCalls()).toBe(0);
    }
    expect((await remote.call('listDatasets', undefined))[0]!.id).toBe(dataset.id);
    expect(remote.pendingCalls()).toBe(0);
  });

  it('forwards job events', async () => {
    const finished = new Promise<ApiEvents['job-finished']>((resolve) => {
      remote.on('job-finished', resolve);
    });
    let progress = 0;
    remote.on('job-progress', () => progress++);
    const job = await remote.call('startJob', {
      kind: 'synth',
      params: { out: 'synth-job', seed: 2, ids: 20, images: 2, trainIds: 0, size: 32 },
    });
    const done = await finished;
    expect(done.id).toBe(job.id);
    expect(done.state).toBe('succeeded');
    expect(progress).toBeGreaterThan(0);
  });

  it('survives its service process being killed: the call in flight fails clearly, the next one works', async () => {
    const checkpoint = await remote.call('openCheckpoint', tiny.checkpoint);
    // Find the service process: the child of this process running service-host.ts.
    const { execSync } = await import('node:child_process');
    const pids = execSync(`pgrep -P ${process.pid} -f service-host.ts`, { encoding: 'utf8' })
      .trim()
      .split('\n');
    // Scoring a group's pairs embeds all its images: long enough to be in flight when the kill lands.
    const inFlight = remote
      .call('listPairs', { checkpointId: checkpoint.id, datasetId: dataset.id, imageId: 41 })
      .catch((e: unknown) => e);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // The shell that ran pgrep matched too, and is gone already.
      }
    }
    const error = await inFlight;
    expect(error).toBeInstanceOf(GabnError);
    expect((error as GabnError).message).toBe(
      'the service process was killed by SIGKILL during listPairs; the next request starts a new one',
    );
    // A new service process answers: the workspace is found again, a checkpoint opened by path is opened again.
    expect((await remote.call('listDatasets', undefined))[0]!.id).toBe(dataset.id);
    expect((await remote.call('openCheckpoint', tiny.checkpoint)).id).toBe(checkpoint.id);
  });
});
