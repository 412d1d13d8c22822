/**
 * Training runs as jobs, each in a worker process on a tiny network: a run launched through the API
 * writes the run folder `gabn train` writes (and its events are its metrics.jsonl's records); Stop
 * saves a resume point and Resume ends with the same bytes as a run that never stopped; Cancel ends a
 * run at once; training runs queue one at a time while other jobs go on beside them; closing the app
 * leaves the run interrupted and its queue on disk, and the next app starts the queue and resumes the
 * run; a run of `gabn train` in the runs folder is followed, shown interrupted once its process is
 * killed, and resumed from its last checkpoint by the app.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AblationResult,
  JobInfo,
  MetricsRecord,
  TrainJobParams,
  Validation,
} from '../../../main/api/contract.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { resolveTrainingConfig } from '../../../main/gabn/presets.ts';
import { readRunStatus } from '../../../main/runs/run-folder.ts';
import { makeTinyTrainingSet } from '../train/tiny-training-set.ts';

const OVERRIDES = [
  'model.width=0.125',
  'model.inputSize=16',
  'model.embeddingSize=16',
  'discriminator.width=0.125',
  'batchSize=8',
  'epochs=2',
  'erase.maxHeight=4',
  'erase.maxWidth=4',
  'confidence.threshold=0.3',
  'optimizer.learningRate=0.01',
  'discriminator.learningRate=0.01',
];
const config = resolveTrainingConfig({ preset: 'gabn', config: 'tiny', overrides: OVERRIDES });

let root: string;
let workspace: string;
let data: string;
let val: string;
let service: GabnService;
let whole: JobInfo;

function params(validated = false): TrainJobParams {
  return { preset: 'gabn', config, data, ...(validated ? { val } : {}) };
}

function lines(runDir: string): Record<string, unknown>[] {
  return readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function bytes(runDir: string, checkpoint = 'checkpoints/epoch-2.gabn'): Record<string, Buffer> {
  return Object.fromEntries(
    ['weights.bin', 'head.bin', 'discriminator.bin', 'optimizer.bin'].map((f) => [
      f,
      readFileSync(path.join(runDir, checkpoint, f)),
    ]),
  );
}

function expectSameBytes(a: Record<string, Buffer>, b: Record<string, Buffer>): void {
  for (const name of Object.keys(a)) expect(a[name]!.equals(b[name]!), `${name} differs`).toBe(true);
}

/** Resolves when job `id` (of `on`'s service) reports its first step. */
function firstStep(on: GabnService, id: string): Promise<void> {
  return new Promise((resolve) => {
    const off = on.on('job-metrics', ({ id: job, record }) => {
      if (job === id && record.type === 'step') {
        off();
        resolve();
      }
    });
  });
}

async function until<T>(what: () => T | undefined, ms = 180_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = what();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-train-jobs-'));
  ({ data, val } = await makeTinyTrainingSet(root));
  workspace = path.join(root, 'workspace');
  service = createService({ workspace, host: 'browser' });
}, 120_000);

afterAll(async () => {
  await service?.close();
});

/** Each test trains a few seconds, in worker processes that each take seconds to start on a busy machine. */
const TRAINING = { timeout: 400_000 };

describe('a training run launched from the app', TRAINING, () => {
  it('writes the run folder gabn train writes, and sends each record of metrics.jsonl as it is written', async () => {
    const events: MetricsRecord[] = [];
    const job = await service.call('startJob', { kind: 'train', params: params(true) });
    service.on('job-metrics', ({ id, record }) => {
      if (id === job.id) events.push(record);
    });
    whole = await service.runner.wait(job.id);
    expect(whole.state).toBe('succeeded');
    const dir = whole.runDir;
    const saved = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(saved).toMatchObject({ kind: 'train', params: { preset: 'gabn', data, val } });
    expect(saved.params.config).toEqual(config);
    expect(readRunStatus(dir)).toMatchObject({
      state: 'succeeded',
      progress: { done: 4, total: 4 },
      training: { epoch: 2, stepsPerEpoch: 2, checkpoint: 'checkpoints/epoch-2.gabn' },
    });
    const records = lines(dir);
    expect(records.filter((r) => r.type === 'step').map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(records.filter((r) => r.type === 'epoch').map((r) => r.epoch)).toEqual([1, 2]);
    for (const e of records.filter((r) => r.type === 'epoch')) {
      expect(Object.keys((e.validation as { groups: object }).groups)).toEqual([
        'group-a',
        'group-b',
        'group-c',
        'group-d',
      ]);
    }
    // The events are the file's records (null where JSON writes NaN), in order, once each.
    expect(JSON.parse(JSON.stringify(events))).toEqual(records);
    // The run writes its own log; the job does not repeat its lines.
    const log = readFileSync(path.join(dir, 'log.txt'), 'utf8');
    expect(log.split('epoch 2 validation:').length).toBe(2);
    expect(log).toContain('completed 2 epochs (4 steps)');
    expect(existsSync(path.join(dir, 'checkpoints', 'epoch-1.gabn', 'optimizer.bin'))).toBe(true);
    const strip = await service.call('readRunStrip', job.id);
    expect(strip?.epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
    expect(strip?.source).toBe('validation');
    expect(JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8'))).toMatchObject({
      state: 'succeeded',
      checkpoint: 'checkpoints/epoch-2.gabn',
    });
  });

  it('is compared as gabn ablate compares its runs: the final checkpoint audited on the validation pairs', async () => {
    const run = { id: whole.id, preset: 'gabn', seed: 1, label: 'gabn (seed 1)' };
    const done = await service.runner.wait(
      service.runner.start('ablation', { runs: [run], val, bootstrap: 20 }).id,
    );
    expect(done.state).toBe('succeeded');
    const result = done.result as AblationResult;
    expect(result.files).toEqual(['ablation.html', 'ablation.json']);
    expect(JSON.parse(readFileSync(path.join(done.runDir, 'ablation.json'), 'utf8')).rows).toEqual(
      result.rows,
    );
    // The audit of the final checkpoint finds what the run's last validation found.
    const last = lines(whole.runDir)
      .filter((r) => r.type === 'epoch')
      .at(-1)!.validation as Validation;
    const row = result.rows[0]!;
    expect(row.average.value).toBeCloseTo(last.average, 10);
    expect(row.std.value).toBeCloseTo(last.std, 10);
    expect(row.ser.value).toBeCloseTo(last.ser, 10);
    for (const [group, accuracy] of Object.entries(last.groups))
      expect(row.groups[group]!.value).toBeCloseTo(accuracy, 10);
    // A run that has not trained to its end is named.
    const missing = { id: 'no-such-run', preset: 'gabn', seed: 2, label: 'gabn (seed 2)' };
    const refused = await service.runner.wait(
      service.runner.start('ablation', { runs: [run, missing], val }).id,
    );
    expect(refused.state).toBe('failed');
    expect(refused.error).toContain('gabn (seed 2) has not trained to its end (it is missing)');
  });

  it('stops after the current step with a resume point, and resumed ends as the run that never stopped', async () => {
    const job = await service.call('startJob', { kind: 'train', params: params() });
    await firstStep(service, job.id);
    await service.call('stopJob', job.id);
    const stopped = await service.runner.wait(job.id);
    expect(stopped.state).toBe('stopped');
    expect(stopped.message).toMatch(/^stopped after (step|epoch) \d/);
    const checkpoint = stopped.training?.checkpoint;
    expect(checkpoint).toMatch(/^checkpoints\/(step|epoch)-\d\.gabn$/);
    expect(await service.call('resumeJob', job.id)).toMatchObject({ state: 'running' });
    const done = await service.runner.wait(job.id);
    expect(done.state).toBe('succeeded');
    expect(readFileSync(path.join(done.runDir, 'log.txt'), 'utf8')).toContain(`resuming from ${checkpoint}`);
    expect(
      lines(done.runDir)
        .filter((r) => r.type === 'step')
        .map((r) => r.step),
    ).toEqual([1, 2, 3, 4]);
    expectSameBytes(bytes(done.runDir), bytes(whole.runDir));
  });
});

describe('the training queue', TRAINING, () => {
  it('trains one run at a time, other jobs beside it; Cancel ends a run at once; the queue survives the app', async () => {
    const first = await service.call('startJob', {
      kind: 'train',
      params: { ...params(), config: { ...config, epochs: 1 } },
    });
    const second = await service.call('startJob', { kind: 'train', params: params() });
    expect([first.state, second.state, second.queuePosition]).toEqual(['running', 'queued', 1]);
    // Another lane: synthetic faces do not wait for the training run.
    const faces = await service.call('startJob', {
      kind: 'synth',
      params: { out: 'faces', ids: 20, images: 2, trainIds: 0, size: 32 },
    });
    expect(faces.state).toBe('running');
    await firstStep(service, first.id);
    expect(service.runner.get(second.id).state).toBe('queued');
    await service.call('cancelJob', first.id);
    expect((await service.runner.wait(first.id)).state).toBe('cancelled');
    expect(readRunStatus(first.runDir)?.state).toBe('cancelled');
    await firstStep(service, second.id);
    // One epoch: it only has to show that the next app starts it.
    const third = await service.call('startJob', {
      kind: 'train',
      params: { ...params(), config: { ...config, epochs: 1 } },
    });
    expect(third.queuePosition).toBe(1);
    expect((await service.runner.wait(faces.id)).state).toBe('succeeded');

    // The app closes while the second trains: it saves where it is and reads as interrupted; the
    // third stays queued, on disk.
    await service.close();
    const cut = readRunStatus(second.runDir)!;
    expect(cut.state).toBe('interrupted');
    expect(cut.message).toContain('interrupted (the app closed)');
    expect(cut.training?.checkpoint).toMatch(/^checkpoints\//);
    expect(readRunStatus(third.runDir)?.state).toBe('queued');

    // The next app starts the queue and resumes the interrupted run after it.
    service = createService({ workspace, host: 'browser' });
    expect(service.runner.get(third.id).state).toBe('running');
    expect(service.runner.get(second.id).state).toBe('interrupted');
    expect(await service.call('resumeJob', second.id)).toMatchObject({ state: 'queued', queuePosition: 1 });
    expect((await service.runner.wait(third.id)).state).toBe('succeeded');
    const resumed = await service.runner.wait(second.id);
    expect(resumed.state).toBe('succeeded');
    expect(readFileSync(path.join(second.runDir, 'log.txt'), 'utf8')).toContain(
      `resuming from ${cut.training?.checkpoint}`,
    );
    expectSameBytes(bytes(second.runDir), bytes(whole.runDir));
  });
});

describe('a run of gabn train in the workspace', TRAINING, () => {
  let cli: ChildProcess | undefined;
  afterAll(() => {
    cli?.kill('SIGKILL');
  });

  it('is followed while it trains, shown interrupted once its process is killed, and resumed by the app', async () => {
    const out = path.join(workspace, 'runs', 'cli-run');
    const args = [
      'bin/gabn.js',
      'train',
      '--preset',
      'gabn',
      '--config',
      'tiny',
      '--data',
      data,
      '--out',
      out,
    ];
    cli = spawn(process.execPath, [...args, ...OVERRIDES.flatMap((o) => ['--set', o])], { stdio: 'ignore' });
    // Listed while it trains, as worked on outside the app.
    const listed = await until(() => {
      const job = service.runner.list().find((j) => j.id === 'cli-run');
      return job?.state === 'running' ? job : undefined;
    });
    expect(listed.external).toBe(true);
    expect(listed.kind).toBe('train');
    // Killed once its first epoch is saved.
    await until(() =>
      readRunStatus(out)?.training?.checkpoint === 'checkpoints/epoch-1.gabn' ? true : undefined,
    );
    cli.kill('SIGKILL');
    const cut = await until(() => {
      const job = service.runner.list().find((j) => j.id === 'cli-run');
      return job?.state === 'interrupted' ? job : undefined;
    }, 10_000);
    expect(cut.error).toContain('it can resume from checkpoints/epoch-1.gabn');
    await service.call('resumeJob', 'cli-run');
    const done = await service.runner.wait('cli-run');
    expect(done.state).toBe('succeeded');
    expect(readFileSync(path.join(out, 'log.txt'), 'utf8')).toContain(
      'resuming from checkpoints/epoch-1.gabn',
    );
    // The same bytes as the app's own uninterrupted run: the CLI and the app train alike.
    expectSameBytes(bytes(out), bytes(whole.runDir));
  });
});
