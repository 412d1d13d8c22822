/**
 * The jobs of a workspace on a BullMQ queue, with a real Redis (redis-server on a free loopback port,
 * started here) and two `gabn worker` processes: a sharded audit spread over both writes the report
 * of the audit in one process; a 2-preset × 2-seed ablation grid is shared by both, each run saying
 * which worker ran it, and its comparison follows once the grid is done; a worker killed with SIGKILL
 * in the middle of a training run (its job's process with it, as when its machine dies) leaves the
 * run to the other, which resumes it from its last checkpoint: every step is in metrics.jsonl once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AblationResult, JobInfo } from '../../../main/api/contract.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { resolveTrainingConfig } from '../../../main/gabn/presets.ts';
import { QUEUE_ENV } from '../../../main/jobs/queue/queue-config.ts';
import { readRunStatus } from '../../../main/runs/run-folder.ts';
import { runLockHolder } from '../../../main/runs/run-lock.ts';
import { runAudit } from '../../../main/usecases/audit/run-audit.ts';
import { type RedisServer, redisServerMissing, startRedisServer } from '../../helpers/redis-server.ts';
import { writeTinyCheckpoint } from '../../helpers/tiny-checkpoint.ts';
import { makeTinyTrainingSet } from '../train/tiny-training-set.ts';

const OVERRIDES = [
  'model.width=0.125',
  'model.inputSize=16',
  'model.embeddingSize=16',
  'discriminator.width=0.125',
  'batchSize=8',
  'epochs=1',
  'erase.maxHeight=4',
  'erase.maxWidth=4',
  'confidence.threshold=0.3',
];
const config = resolveTrainingConfig({ preset: 'baseline', config: 'tiny', overrides: OVERRIDES });

const missing = redisServerMissing();
let redis: RedisServer | undefined;
let root: string;
let workspace: string;
let cache: string;
let data: string;
let val: string;
let checkpoint: string;
let service: GabnService;
const workers = new Map<string, ChildProcess>();

async function until<T>(look: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = look();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A `gabn worker` process, resolved once it is connected and waits for jobs. */
function startWorker(name: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      'bin/gabn.js',
      'worker',
      '--queue',
      redis!.url,
      '--workspace',
      workspace,
      '--name',
      name,
      '--lock-ms',
      '2000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GABN_CACHE_DIR: cache } },
  );
  workers.set(name, child);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      if (output.includes('Press Ctrl-C')) resolve(child);
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      output += text;
    });
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code}:\n${output}`)));
  });
}

function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  return exited;
}

function withoutProvenance(report: Record<string, unknown>): Record<string, unknown> {
  const { provenance: _p, ...rest } = report;
  return rest;
}

function steps(runDir: string): number[] {
  return readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type?: string; step?: number })
    .filter((r) => r.type === 'step')
    .map((r) => r.step!);
}

beforeAll(async () => {
  if (missing) return;
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-queue-'));
  workspace = path.join(root, 'workspace');
  cache = path.join(root, 'cache');
  ({ data, val } = await makeTinyTrainingSet(root));
  checkpoint = await writeTinyCheckpoint(root, ['African', 'Asian', 'Caucasian', 'Indian']);
  redis = await startRedisServer();
  process.env[QUEUE_ENV] = redis.url;
  try {
    service = createService({ workspace, host: 'browser' });
  } finally {
    delete process.env[QUEUE_ENV];
  }
  await Promise.all([startWorker('worker-a'), startWorker('worker-b')]);
}, 120_000);

afterAll(async () => {
  await Promise.all([...workers.values()].map(stopWorker));
  await service?.close();
  await redis?.stop();
}, 120_000);

describe('jobs on a Redis queue, run by two gabn worker processes', () => {
  it('spreads a sharded audit over both workers, and its report is the audit in one process', async (context) => {
    if (missing) {
      console.log(`queue test skipped: ${missing}`);
      context.skip();
    }
    const params = { checkpoints: [checkpoint], data: val, bootstrap: 30, seed: 4, attentionImages: 0 };
    const started = await service.call('startJob', {
      kind: 'audit',
      params: { ...params, imagesPerShard: 40 },
    });
    const audit = await service.runner.wait(started.id);
    expect(audit.state, audit.error).toBe('succeeded');
    const shards = (audit.params.shards as string[]).map((id) => service.runner.get(id));
    // 4 groups of 40 images: a shard each (shards.test.ts cuts groups into ranges).
    expect(shards).toHaveLength(4);
    for (const shard of shards) expect(shard.state).toBe('succeeded');
    expect(new Set(shards.map((s) => s.worker))).toEqual(new Set(['worker-a', 'worker-b']));
    expect(shards.reduce((n, s) => n + (s.result as { images: number }).images, 0)).toBe(160);
    expect(readFileSync(path.join(audit.runDir, 'log.txt'), 'utf8')).toContain(
      '160 embeddings from 4 shards',
    );
    const local = path.join(root, 'local-audit.json');
    await runAudit({ ...params, out: [local], commandLine: [] });
    const sharded = JSON.parse(readFileSync(path.join(audit.runDir, 'report.json'), 'utf8'));
    expect(withoutProvenance(sharded)).toEqual(withoutProvenance(JSON.parse(readFileSync(local, 'utf8'))));
  }, 120_000);

  it('shares a 2 × 2 ablation grid between the workers, then compares it side by side', async (context) => {
    if (missing) {
      console.log(`queue test skipped: ${missing}`);
      context.skip();
    }
    const { runs, comparison } = await service.call('startAblation', {
      base: { preset: 'baseline', config, data, val },
      presets: ['baseline', 'gabn'],
      seeds: 2,
      bootstrap: 20,
    });
    const done = await service.runner.wait(comparison.id);
    expect(done.state, done.error).toBe('succeeded');
    const trained: JobInfo[] = runs.map((r) => service.runner.get(r.id));
    for (const run of trained) {
      expect(run.state, run.error).toBe('succeeded');
      expect(steps(run.runDir)).toEqual([1, 2]);
    }
    // The Runs view's column: which worker ran which.
    expect(new Set(trained.map((r) => r.worker))).toEqual(new Set(['worker-a', 'worker-b']));
    expect(done.worker).toMatch(/^worker-[ab]$/);
    expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(
      Math.max(...trained.map((r) => Date.parse(r.finishedAt!))),
    );
    const result = done.result as AblationResult;
    expect(result.rows.map((r) => [r.preset, r.seed])).toEqual([
      ['baseline', 1],
      ['baseline', 2],
      ['gabn', 1],
      ['gabn', 2],
    ]);
    expect(result.files).toEqual(['ablation.html', 'ablation.json']);
  }, 180_000);

  it("stops a worker's run after its current step and cancels another, as the app does its own", async (context) => {
    if (missing) {
      console.log(`queue test skipped: ${missing}`);
      context.skip();
    }
    const long = resolveTrainingConfig({
      preset: 'baseline',
      config: 'tiny',
      overrides: [...OVERRIDES, 'epochs=3'],
    });
    const start = () =>
      service.call('startJob', { kind: 'train', params: { preset: 'baseline', config: long, data } });
    // One after the other: a run started beside the first could end while the first stops.
    const stopped = await start();
    const training = (id: string) => () => {
      const status = readRunStatus(service.runner.get(id).runDir);
      return status?.state === 'running' && (status.progress?.done ?? 0) >= 1 && status.worker
        ? status
        : undefined;
    };
    await until(training(stopped.id));
    await service.call('stopJob', stopped.id);
    const end = await service.runner.wait(stopped.id);
    expect(end.state, end.error).toBe('stopped');
    expect(end.training?.checkpoint).toMatch(/^checkpoints\//);
    const cancelled = await start();
    await until(training(cancelled.id));
    await service.call('cancelJob', cancelled.id);
    expect((await service.runner.wait(cancelled.id)).state).toBe('cancelled');
    // Resumed, it goes back to the queue and ends as if it had never stopped: each step once.
    await until(() => (runLockHolder(stopped.runDir) === undefined ? true : undefined));
    await service.call('resumeJob', stopped.id);
    const resumed = await service.runner.wait(stopped.id);
    expect(resumed.state, resumed.error).toBe('succeeded');
    expect(steps(stopped.runDir)).toEqual([1, 2, 3, 4, 5, 6]);
  }, 120_000);

  it('finishes on the other worker the run of a worker killed mid-run, nothing lost or done twice', async (context) => {
    if (missing) {
      console.log(`queue test skipped: ${missing}`);
      context.skip();
    }
    const long = resolveTrainingConfig({
      preset: 'baseline',
      config: 'tiny',
      overrides: [...OVERRIDES, 'epochs=3'],
    });
    const job = await service.call('startJob', {
      kind: 'train',
      params: { preset: 'baseline', config: long, data },
    });
    const first = await until(() => {
      const status = readRunStatus(job.runDir);
      return status?.training?.checkpoint === 'checkpoints/epoch-1.gabn' && status.worker
        ? status
        : undefined;
    });
    // Its machine dies: the worker and the job's process with it.
    const holder = runLockHolder(job.runDir);
    workers.get(first.worker!)!.kill('SIGKILL');
    if (holder) process.kill(holder.pid, 'SIGKILL');
    const done = await service.runner.wait(job.id);
    expect(done.state, done.error).toBe('succeeded');
    expect(done.worker).not.toBe(first.worker);
    expect(done.worker).toMatch(/^worker-[ab]$/);
    const log = readFileSync(path.join(job.runDir, 'log.txt'), 'utf8');
    expect(log).toMatch(/resuming from checkpoints\/epoch-[12]\.gabn/);
    expect(steps(job.runDir)).toEqual([1, 2, 3, 4, 5, 6]);
  }, 120_000);

  it('hands a training run back to the queue on SIGTERM, with a resume point, for the other worker', async (context) => {
    if (missing) {
      console.log(`queue test skipped: ${missing}`);
      context.skip();
    }
    await startWorker('worker-c');
    const long = resolveTrainingConfig({
      preset: 'baseline',
      config: 'tiny',
      overrides: [...OVERRIDES, 'epochs=3'],
    });
    const job = await service.call('startJob', {
      kind: 'train',
      params: { preset: 'baseline', config: long, data },
    });
    const first = await until(() => {
      const status = readRunStatus(job.runDir);
      return status?.training?.checkpoint === 'checkpoints/epoch-1.gabn' && status.worker
        ? status
        : undefined;
    });
    const stopping = workers.get(first.worker!)!;
    let said = '';
    stopping.stdout!.on('data', (text: string) => {
      said += text;
    });
    const exited = new Promise<number | null>((r) => stopping.once('exit', (code) => r(code)));
    stopping.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(said).toContain(`${job.id}: saved and handed back to the queue`);
    const done = await service.runner.wait(job.id);
    expect(done.state, done.error).toBe('succeeded');
    expect(done.worker).not.toBe(first.worker);
    expect(readFileSync(path.join(job.runDir, 'log.txt'), 'utf8')).toMatch(
      /resuming from checkpoints\/(epoch|step)-/,
    );
    expect(steps(job.runDir)).toEqual([1, 2, 3, 4, 5, 6]);
  }, 120_000);
});
