/**
 * The Train and Runs views' API on the service: what the form offers comes from the engine's own
 * declarations; a request's problems come back at their fields, as `gabn train` would refuse them;
 * startJob refuses a wrong setting by its path; an ablation queues its grid and a comparison that
 * waits for it; a run of `gabn train` in the runs folder is listed with its epochs and checkpoints,
 * its metrics read incrementally (and again whole after a resume cut them back); its checkpoint is
 * exported in float16 without training state; a run is deleted only when nothing works on it.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsRecord, TrainJobParams } from '../../../main/api/contract.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { writeJsonAtomicSync } from '../../../main/base/atomic-files.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { NAMED_CONFIGS, PRESETS, resolveTrainingConfig } from '../../../main/gabn/presets.ts';
import { CONFIG_KEYS } from '../../../main/gabn/training-config.ts';
import { readCheckpoint, saveCheckpoint } from '../../../main/models/checkpoint.ts';
import {
  createDiscriminator,
  createIResNet,
  createMarginHead,
  iresnetSpec,
} from '../../../main/models/index.ts';
import { acquireRunLock } from '../../../main/runs/run-lock.ts';
import { writeTinyCheckpoint } from '../../helpers/tiny-checkpoint.ts';
import { makeTinyTrainingSet } from '../train/tiny-training-set.ts';

let workspace: string;
let service: GabnService;
let data: string;
let val: string;
let baseline: string;
const config = resolveTrainingConfig({ preset: 'gabn', config: 'tiny', overrides: ['batchSize=8'] });

function request(extra: Partial<TrainJobParams> = {}): TrainJobParams {
  return { preset: 'gabn', config, data, val, ...extra };
}

function message(call: () => unknown): Promise<string> {
  return Promise.resolve()
    .then(call)
    .then(
      () => 'no error',
      (error: Error) => error.message,
    );
}

/** A run folder as `gabn train --out <workspace>/runs/cli-run` leaves it after two epochs. */
async function cliRun(): Promise<string> {
  const dir = path.join(workspace, 'runs', 'cli-run');
  mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  writeJsonAtomicSync(path.join(dir, 'config.json'), {
    kind: 'train',
    params: { preset: 'gabn', config: { ...config, epochs: 2 }, data, val },
    createdAt: '2026-01-02T00:00:00.000Z',
    command: 'gabn train --preset gabn --out runs/cli-run',
  });
  writeJsonAtomicSync(path.join(dir, 'status.json'), {
    id: 'cli-run',
    kind: 'train',
    state: 'succeeded',
    createdAt: '2026-01-02T00:00:00.000Z',
    progress: { done: 4, total: 4 },
    training: { epoch: 2, stepsPerEpoch: 2, checkpoint: 'checkpoints/epoch-2.gabn' },
  });
  const records: MetricsRecord[] = [1, 2, 3, 4].flatMap((s): MetricsRecord[] => [
    {
      type: 'step',
      epoch: Math.ceil(s / 2),
      step: s,
      loss: 5 - s,
      identityLoss: 20 - s,
      adversarialLoss: 1.39,
      discriminatorLoss: 1.38,
      discriminatorAccuracy: 0.25,
      confidenceLoss: 1,
      groupConfidence: { 'group-a': 0.9, 'group-b': 0.8, 'group-c': null, 'group-d': 0.7 },
      lr: 0.1,
      imagesPerSecond: 12,
    },
    ...(s % 2 === 0
      ? [
          {
            type: 'epoch' as const,
            epoch: s / 2,
            step: s,
            seconds: 4,
            checkpoint: `checkpoints/epoch-${s / 2}.gabn`,
            validation: { groups: { 'group-a': 70 + s }, average: 70 + s, std: 5 - s, ser: 1.5 },
          },
        ]
      : []),
  ]);
  writeFileSync(path.join(dir, 'metrics.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  writeFileSync(path.join(dir, 'log.txt'), 'epoch 1/2: learning rate 0.1\nepoch 2/2: learning rate 0.01\n');
  // A resume checkpoint: network, head, discriminator and optimiser state.
  const model = createIResNet(iresnetSpec({ depth: 18, width: 0.125, inputSize: 32, embeddingSize: 16 }), 3);
  for (const epoch of [1, 2]) {
    await saveCheckpoint(path.join(dir, 'checkpoints', `epoch-${epoch}.gabn`), {
      model,
      groups: ['group-a', 'group-b', 'group-c', 'group-d'],
      classCount: 4,
      head: createMarginHead(16, 4, 4),
      discriminator: createDiscriminator(4, { width: 0.125 }, 5),
      optimizer: {
        state: { kind: 'sgd' },
        tensors: { 'face/conv1.weight': tf.ones(model.params['conv1.weight']!.shape) },
      },
      provenance: { metrics: { validation: { average: 72 } } },
    });
  }
  return dir;
}

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
  workspace = mkdtempSync(path.join(os.tmpdir(), 'gabn-train-api-'));
  ({ data, val } = await makeTinyTrainingSet(workspace));
  mkdirSync(path.join(workspace, 'checkpoints'), { recursive: true });
  baseline = await writeTinyCheckpoint(path.join(workspace, 'checkpoints'), [
    'group-a',
    'group-b',
    'group-c',
    'group-d',
  ]);
  service = createService({ workspace, host: 'browser' });
});

afterAll(async () => {
  await service?.close();
});

describe('the training form’s API', () => {
  it('offers every preset, named configuration and setting, and what the workspace holds to train with', async () => {
    const options = await service.call('describeTraining', undefined);
    expect(options.presets.map((p) => p.name)).toEqual(Object.keys(PRESETS));
    expect(options.presets.find((p) => p.name === 'fine-tune')?.needsCheckpoint).toBe(true);
    expect(options.configs).toEqual(Object.keys(NAMED_CONFIGS));
    expect(options.resolved.small!['gam-sfre']).toEqual(
      resolveTrainingConfig({ preset: 'gam-sfre', config: 'small' }),
    );
    expect(options.fields.map((f) => f.key)).toEqual(CONFIG_KEYS);
    expect(options.fields.find((f) => f.key === 'model.depth')).toEqual({
      key: 'model.depth',
      kind: 'choice',
      expected: 'one of 18, 34, 50, 100, 200',
      choices: [18, 34, 50, 100, 200],
    });
    expect(options.table4).toEqual(['baseline', 'random-erase', 'confidence', 'gam-ct', 'gam-sfre', 'gabn']);
    expect(options.suggested).toEqual({ data, val, from: baseline });
  });

  it('finds each problem at its field, as gabn train would refuse it', async () => {
    const problems = (extra: Partial<TrainJobParams>, settings: Record<string, unknown> = {}) =>
      service.call(
        'validateTraining',
        request({ ...extra, config: { ...config, ...settings } as typeof config }),
      );
    expect(await problems({})).toEqual([]);
    // Paths relative to the workspace.
    expect(await problems({ data: 'synthetic/train', val: 'synthetic/rfw' })).toEqual([]);
    expect(await problems({}, { optimizer: { ...config.optimizer, learningRate: 'abc' } })).toEqual([
      {
        path: 'optimizer.learningRate',
        message: "optimizer.learningRate is 'abc' (expected a number in (0, 10])",
      },
    ]);
    expect(await problems({}, { modules: { ...config.modules, sfre: true, randomErase: true } })).toEqual([
      { path: 'modules.randomErase', message: 'modules.sfre and modules.randomErase exclude each other' },
    ]);
    expect(await problems({}, { microBatchSize: 16 })).toEqual([
      { path: 'microBatchSize', message: 'microBatchSize 16 exceeds batchSize 8' },
    ]);
    expect(await problems({ preset: 'fine-tune' })).toEqual([
      { path: 'from', message: "the 'fine-tune' preset starts from a checkpoint" },
    ]);
    expect(await problems({ from: data })).toEqual([
      { path: 'from', message: `not a checkpoint (no checkpoint.json): ${data}` },
    ]);
    expect((await problems({ data: 'nowhere', preset: 'nothing' })).map((p) => p.path)).toEqual([
      'preset',
      'data',
    ]);
  });

  it('refuses to start a run with a wrong setting, naming it by its path', async () => {
    const wrong = { ...config, optimizer: { ...config.optimizer, learningRate: 20 } };
    expect(
      await message(() => service.call('startJob', { kind: 'train', params: request({ config: wrong }) })),
    ).toBe('startJob params config optimizer: learningRate is 20 (expected a number in (0, 10])');
    const both = { ...config, modules: { ...config.modules, randomErase: true } };
    expect(
      await message(() => service.call('startJob', { kind: 'train', params: request({ config: both }) })),
    ).toContain('modules.randomErase: modules.sfre and modules.randomErase exclude each other');
    expect(service.runner.list().filter((j) => j.kind === 'train')).toEqual([]);
  });

  it('queues the Table 4 grid with its seeds and a comparison that waits for it', async () => {
    const { runs, comparison } = await service.call('startAblation', {
      base: request({ from: baseline }),
      presets: ['baseline', 'gabn'],
      seeds: 2,
    });
    try {
      expect(runs.map((r) => [r.params.preset, (r.params.config as typeof config).seed])).toEqual([
        ['baseline', 1],
        ['baseline', 2],
        ['gabn', 1],
        ['gabn', 2],
      ]);
      for (const run of runs) {
        const p = run.params as unknown as TrainJobParams;
        expect(p.config.modules).toEqual(PRESETS[p.preset]!.modules);
        expect(p.config.batchSize).toBe(8);
        expect([p.data, p.val, p.from]).toEqual([data, val, baseline]);
      }
      expect(runs.slice(1).map((r) => [r.state, r.queuePosition])).toEqual([
        ['queued', 1],
        ['queued', 2],
        ['queued', 3],
      ]);
      expect(comparison.kind).toBe('ablation');
      expect(comparison.after).toEqual(runs.map((r) => r.id));
      expect(comparison.state).toBe('queued');
    } finally {
      await service.call('cancelJob', comparison.id);
      for (const run of runs) await service.call('cancelJob', run.id);
      for (const run of runs) await service.runner.wait(run.id);
    }
    expect((await service.call('listJobs', undefined)).find((j) => j.id === comparison.id)?.state).toBe(
      'cancelled',
    );
  });
});

describe('the runs of the workspace', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await cliRun();
  });

  it('lists a run of gabn train with its epochs and checkpoints, and reads its metrics, log and strip', async () => {
    const listed = (await service.call('listRuns', undefined)).find((r) => r.job.id === 'cli-run')!;
    expect(listed.job.state).toBe('succeeded');
    expect(listed.preset).toBe('gabn');
    expect(listed.epochs).toBe(2);
    expect(listed.epochRecords.map((e) => [e.epoch, e.validation?.average])).toEqual([
      [1, 72],
      [2, 74],
    ]);
    expect(listed.checkpoints).toEqual(['checkpoints/epoch-1.gabn', 'checkpoints/epoch-2.gabn']);
    const all = await service.call('readRunMetrics', { jobId: 'cli-run' });
    expect(all.next).toBe(6);
    expect(all.records.map((r) => r.type)).toEqual(['step', 'step', 'epoch', 'step', 'step', 'epoch']);
    expect((all.records[0] as { groupConfidence: unknown }).groupConfidence).toEqual({
      'group-a': 0.9,
      'group-b': 0.8,
      'group-c': null,
      'group-d': 0.7,
    });
    expect(await service.call('readRunLog', { jobId: 'cli-run', lines: 1 })).toBe(
      'epoch 2/2: learning rate 0.01',
    );
    expect(await service.call('readRunStrip', 'cli-run')).toBeNull();
  });

  it('reads only what the metrics gained, and everything again after a resume cut them back', async () => {
    const before = await service.call('readRunMetrics', { jobId: 'cli-run' });
    appendFileSync(
      path.join(dir, 'metrics.jsonl'),
      `${JSON.stringify({ type: 'step', step: 5, epoch: 3 })}\n{"type":"st`,
    );
    const gained = await service.call('readRunMetrics', { jobId: 'cli-run', from: before.next });
    // The line being written is not read yet.
    expect(gained).toEqual({ records: [{ type: 'step', step: 5, epoch: 3 }], next: before.next + 1 });
    // A resume from epoch 1 keeps steps 1-2 and its epoch record.
    const kept = (await service.call('readRunMetrics', { jobId: 'cli-run' })).records.slice(0, 3);
    writeFileSync(path.join(dir, 'metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const after = await service.call('readRunMetrics', { jobId: 'cli-run', from: gained.next });
    expect(after.next).toBe(3);
    expect(after.records).toEqual([]);
  });

  it('exports a run’s checkpoint in float16 without training state, into the workspace’s checkpoints', async () => {
    const changed = new Promise((resolve) => service.on('workspace-changed', resolve));
    const job = await service.call('exportRunCheckpoint', {
      jobId: 'cli-run',
      checkpoint: 'checkpoints/epoch-1.gabn',
    });
    const done = await service.runner.wait(job.id);
    expect(done.state).toBe('succeeded');
    const out = path.join(workspace, 'checkpoints', 'cli-run-epoch-1.gabn');
    expect((done.result as { path: string }).path).toBe(out);
    expect(await changed).toEqual({ checkpoints: 1, datasets: 0 });
    expect((await service.call('listCheckpoints', undefined)).some((c) => c.path === out)).toBe(true);
    const source = await readCheckpoint(path.join(dir, 'checkpoints', 'epoch-1.gabn'));
    const exported = await readCheckpoint(out);
    expect(source.discriminator).toBeDefined();
    expect(exported.discriminator).toBeUndefined();
    expect(exported.optimizer).toBeUndefined();
    expect(
      exported.json.weights[0]!.weights.find((w) => w.name === 'conv1.weight')?.quantization?.dtype,
    ).toBe('float16');
    for (const [name, values] of source.weights) {
      const copy = exported.weights.get(name)!;
      for (let i = 0; i < values.length; i++) {
        expect(Math.abs(copy[i]! - values[i]!)).toBeLessThanOrEqual(Math.abs(values[i]!) * 2 ** -11 + 1e-7);
      }
    }
    // A second export does not overwrite the first.
    const again = await service.runner.wait(
      (
        await service.call('exportRunCheckpoint', {
          jobId: 'cli-run',
          checkpoint: 'checkpoints/epoch-1.gabn',
        })
      ).id,
    );
    expect((again.result as { path: string }).path).toBe(`${out.slice(0, -'.gabn'.length)}-2.gabn`);
  });

  it('deletes a run only when no process works on it', async () => {
    const lock = acquireRunLock(dir, 'a test training run');
    writeJsonAtomicSync(path.join(dir, 'status.json'), {
      id: 'cli-run',
      kind: 'train',
      state: 'running',
      createdAt: '2026-01-02T00:00:00.000Z',
      pid: process.pid,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const running = (await service.call('listRuns', undefined)).find((r) => r.job.id === 'cli-run')!;
    expect([running.job.state, running.job.external]).toEqual(['running', true]);
    expect(await message(() => service.call('deleteRun', 'cli-run'))).toContain('stop or cancel it first');
    expect(await message(() => service.call('cancelJob', 'cli-run'))).toContain(
      'worked on by another process',
    );
    lock.release();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Its process is gone: it reads as interrupted, and can go.
    expect((await service.call('listRuns', undefined)).find((r) => r.job.id === 'cli-run')?.job.state).toBe(
      'interrupted',
    );
    expect(await service.call('deleteRun', 'cli-run')).toEqual({ deleted: 'cli-run' });
    expect(existsSync(dir)).toBe(false);
    expect((await service.call('listRuns', undefined)).some((r) => r.job.id === 'cli-run')).toBe(false);
  });
});
