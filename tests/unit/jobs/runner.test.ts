import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobInfo } from '../../../main/api/contract.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { writeJsonAtomicSync as writeJsonAtomic } from '../../../main/base/atomic-files.ts';
import { createJobRunner } from '../../../main/jobs/runner.ts';
import { readRunStatus as readStatus } from '../../../main/runs/run-folder.ts';

let base: string;
let service: GabnService;

/** A synthetic-face job large enough (about 10 s) to be stopped part-way. */
const LONG = { ids: 100, images: 12, trainIds: 0, size: 64 };

function firstProgress(id: string): Promise<void> {
  return new Promise((resolve) => {
    const off = service.on('job-progress', (p) => {
      if (p.id === id && p.progress.done > 0) {
        off();
        resolve();
      }
    });
  });
}

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'gabn-jobs-'));
  service = createService({ workspace: path.join(base, 'workspace'), host: 'browser' });
});

afterAll(async () => {
  await service?.close();
});

describe('jobs in worker processes', () => {
  it('runs a job in its own process with a run directory, progress, log and result', async () => {
    const progress: number[] = [];
    const off = service.on('job-progress', (p) => progress.push(p.progress.done));
    const started = await service.call('startJob', {
      kind: 'synth',
      params: { out: 'faces', ids: 20, images: 2, trainIds: 0, size: 32 },
    });
    expect(started.state === 'running' || started.state === 'queued').toBe(true);
    const pid = service.runner.pid(started.id);
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(process.pid);
    const done = await service.runner.wait(started.id);
    off();
    expect(done.state).toBe('succeeded');
    expect(done.result).toEqual({ images: 160, directory: path.join(base, 'workspace', 'faces') });
    expect(progress.at(-1)).toBe(160);
    const config = JSON.parse(readFileSync(path.join(done.runDir, 'config.json'), 'utf8'));
    expect(config.kind).toBe('synth');
    expect(config.params.out).toBe(path.join(base, 'workspace', 'faces'));
    expect(readStatus(done.runDir)?.state).toBe('succeeded');
    expect(JSON.parse(readFileSync(path.join(done.runDir, 'result.json'), 'utf8')).images).toBe(160);
    expect(readFileSync(path.join(done.runDir, 'log.txt'), 'utf8')).toContain('160 images written');
  });

  it('fails a job whose worker is killed with SIGKILL, with the tail of its log, and goes on serving', async () => {
    const started = await service.call('startJob', { kind: 'synth', params: { out: 'killed', ...LONG } });
    await firstProgress(started.id);
    process.kill(service.runner.pid(started.id)!, 'SIGKILL');
    const done = await service.runner.wait(started.id);
    expect(done.state).toBe('failed');
    expect(done.error).toContain('was killed by SIGKILL');
    expect(done.error).toContain('--- last lines of log.txt ---');
    expect(done.error).toContain(`synthetic faces into ${path.join(base, 'workspace', 'killed')}`);
    expect(readStatus(done.runDir)?.state).toBe('failed');
    // The staged output of the dead worker is not mistaken for a dataset.
    expect(existsSync(path.join(base, 'workspace', 'killed', 'synth.json'))).toBe(false);
    // The service is unharmed and runs the next job.
    expect((await service.call('getStatus', undefined)).jobs.find((j) => j.id === started.id)?.state).toBe(
      'failed',
    );
    const next = await service.call('startJob', {
      kind: 'synth',
      params: { out: 'after', ids: 20, images: 2, trainIds: 0, size: 32 },
    });
    expect((await service.runner.wait(next.id)).state).toBe('succeeded');
  });

  it('cancels a running job: SIGTERM stops it after its current step and nothing half-written stays', async () => {
    const started = await service.call('startJob', { kind: 'synth', params: { out: 'cancelled', ...LONG } });
    await firstProgress(started.id);
    await service.call('cancelJob', started.id);
    const done = await service.runner.wait(started.id);
    expect(done.state).toBe('cancelled');
    expect(existsSync(path.join(base, 'workspace', 'cancelled'))).toBe(false);
    expect(readFileSync(path.join(done.runDir, 'log.txt'), 'utf8')).toContain(
      'synthetic data generation was cancelled',
    );
  });

  it('queues jobs beyond the concurrency and cancels a queued one without starting it', async () => {
    const first = await service.call('startJob', {
      kind: 'synth',
      params: { out: 'q1', ids: 20, images: 2, trainIds: 0, size: 32 },
    });
    const second = await service.call('startJob', {
      kind: 'synth',
      params: { out: 'q2', ids: 20, images: 2, trainIds: 0, size: 32 },
    });
    expect(second.state).toBe('queued');
    const cancelled = await service.call('cancelJob', second.id);
    expect(cancelled.state).toBe('cancelled');
    expect((await service.runner.wait(first.id)).state).toBe('succeeded');
    expect(existsSync(path.join(base, 'workspace', 'q2'))).toBe(false);
  });

  it('keeps the registry on disk: after a restart, finished runs are listed and cut-short ones are interrupted', () => {
    const runsDir = path.join(base, 'workspace', 'runs');
    // What a crashed app leaves: a run that says it is running, with a process that no longer exists.
    const id = '20260101-000000-synth-abcdef';
    mkdirSync(path.join(runsDir, id), { recursive: true });
    writeJsonAtomic(path.join(runsDir, id, 'status.json'), {
      id,
      kind: 'synth',
      state: 'running',
      params: {},
      createdAt: '2026-01-01T00:00:00.000Z',
      pid: 999_999_999,
    });
    const restarted = createJobRunner({ runsDir });
    const listed = restarted.list();
    const interrupted = listed.find((j) => j.id === id) as JobInfo;
    expect(interrupted.state).toBe('interrupted');
    expect(interrupted.error).toContain('interrupted');
    expect(readStatus(path.join(runsDir, id))?.state).toBe('interrupted');
    const succeeded = listed.filter((j) => j.state === 'succeeded');
    expect(succeeded.length).toBe(3);
    expect((succeeded[0]!.result as { images: number }).images).toBe(160);
    expect(listed.filter((j) => j.state === 'failed').length).toBe(1);
  });
});
