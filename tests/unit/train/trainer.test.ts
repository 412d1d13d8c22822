/**
 * Training runs on the cpu backend with a tiny network and a small synthetic set: the run folder's
 * contents, exact resume (a run stopped twice and resumed ends with the same bytes as one that never
 * stopped), a non-finite loss stopping the run with the last good checkpoint kept, and a crashed run
 * resumed with each step recorded once.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../main/data/load-dataset.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { computeFigures, prepareAudit } from '../../../main/eval/audit-figures.ts';
import { checkpointDistances } from '../../../main/eval/embeddings.ts';
import { resolveTrainingConfig } from '../../../main/gabn/presets.ts';
import { loadEmbedder } from '../../../main/models/embedder.ts';
import { readRunStatus } from '../../../main/runs/run-folder.ts';
import { measureCheckpointMechanisms } from '../../../main/usecases/training/mechanisms.ts';
import type { Mechanisms } from '../../../main/usecases/training/records.ts';
import { resumeRun, startRun, type TrainOutcome } from '../../../main/usecases/training/training-run.ts';
import { makeTinyTrainingSet } from './tiny-training-set.ts';

let root: string;
let data: string;
let whole: TrainOutcome;
let val: string;

const config = resolveTrainingConfig({
  preset: 'gabn',
  config: 'tiny',
  overrides: [
    'model.width=0.125',
    'model.inputSize=16',
    'model.embeddingSize=16',
    'discriminator.width=0.125',
    'batchSize=8',
    // The whole batch in one pass, as runs are by default; micro-batches are resumed below too.
    'microBatchSize=0',
    'epochs=2',
    'erase.maxHeight=4',
    'erase.maxWidth=4',
    'confidence.threshold=0.3',
    'optimizer.learningRate=0.01',
    'discriminator.learningRate=0.01',
  ],
});

function run(name: string, validated = true, microBatchSize = config.microBatchSize) {
  return {
    out: path.join(root, name),
    preset: 'gabn',
    config: { ...config, microBatchSize },
    data,
    ...(validated ? { val } : {}),
    command: 'test',
  };
}

function files(runDir: string, checkpoint: string): Record<string, Buffer> {
  const dir = path.join(runDir, checkpoint);
  return Object.fromEntries(
    ['weights.bin', 'head.bin', 'discriminator.bin', 'optimizer.bin'].map((f) => [
      f,
      readFileSync(path.join(dir, f)),
    ]),
  );
}

/** status.json as a person reads a training run's: state, epoch, step, and the resume checkpoint. */
function status(runDir: string) {
  const s = readRunStatus(runDir)!;
  return {
    state: s.state,
    message: s.message,
    epoch: s.training?.epoch,
    step: s.progress?.done,
    totalSteps: s.progress?.total,
    stepsPerEpoch: s.training?.stepsPerEpoch,
    checkpoint: s.training?.checkpoint,
  };
}

function metrics(runDir: string): Record<string, unknown>[] {
  return readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-train-'));
  ({ data, val } = await makeTinyTrainingSet(root));
  // The uninterrupted run: its folder is checked, and the resumed run is compared with it.
  whole = await startRun(run('whole'));
}, 300_000);

describe('a training run', () => {
  it('writes its configuration, status, per-step and per-epoch metrics, log and checkpoints', async () => {
    expect(whole.state).toBe('succeeded');
    const dir = whole.runDir;
    expect(status(dir)).toMatchObject({
      state: 'succeeded',
      epoch: 2,
      step: 4,
      totalSteps: 4,
      stepsPerEpoch: 2,
      checkpoint: 'checkpoints/epoch-2.gabn',
    });
    const saved = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(saved).toMatchObject({ kind: 'train', params: { preset: 'gabn', data, val }, command: 'test' });
    expect(saved.params.config).toEqual(config);
    const records = metrics(dir);
    const steps = records.filter((r) => r.type === 'step');
    const epochs = records.filter((r) => r.type === 'epoch');
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    for (const r of steps) {
      for (const field of [
        'loss',
        'identityLoss',
        'adversarialLoss',
        'discriminatorLoss',
        'discriminatorAccuracy',
        'confidenceLoss',
        'lr',
        'imagesPerSecond',
      ]) {
        expect(Number.isFinite(r[field]), `${field} of step ${r.step}`).toBe(true);
      }
      expect(Object.keys(r.groupConfidence as object)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
    }
    expect(epochs.map((r) => r.epoch)).toEqual([1, 2]);
    for (const e of epochs) {
      const v = e.validation as { groups: Record<string, number>; average: number; std: number; ser: number };
      expect(Object.keys(v.groups)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
      const accuracies = Object.values(v.groups);
      expect(v.average).toBeCloseTo(accuracies.reduce((a, b) => a + b, 0) / 4, 10);
      for (const a of accuracies) expect(a).toBeGreaterThan(0);
      expect(Number.isFinite(v.std)).toBe(true);
    }
    expect(existsSync(path.join(dir, 'checkpoints', 'epoch-1.gabn', 'optimizer.bin'))).toBe(true);
    expect(readFileSync(path.join(dir, 'log.txt'), 'utf8')).toContain('epoch 2 validation: group-a');
  });

  it('measures the mechanisms after every epoch, as the epoch checkpoint read back gives them', async () => {
    const epochs = metrics(whole.runDir).filter((r) => r.type === 'epoch');
    for (const e of epochs) {
      const m = e.mechanisms as Mechanisms;
      // 4 training images per group, all of them probes.
      expect(m.probesPerGroup).toBe(16);
      expect(m.chance).toBe(0.25);
      const figures = [
        m.discriminatorAccuracy!,
        ...Object.values(m.groups).flatMap((g) => [
          g.massFraction,
          g.entropy,
          g.latticeShare,
          g.confidence,
          g.targetProbability,
        ]),
      ];
      for (const f of figures) {
        expect(Number.isFinite(f.value), `a figure of epoch ${e.epoch}`).toBe(true);
        expect(f.interval!.lower!).toBeLessThanOrEqual(f.value!);
        expect(f.interval!.upper!).toBeGreaterThanOrEqual(f.value!);
      }
      expect(Object.keys(m.groups)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
      for (const g of Object.values(m.groups)) expect(g.images).toBe(4);
      expect(m.gamDistance!).toBeGreaterThan(0);
      expect(m.gamDistance!).toBeLessThanOrEqual(1);
      expect(m.gamDistanceInterval!.lower!).toBeLessThanOrEqual(m.gamDistanceInterval!.upper!);
    }
    const recorded = epochs.find((r) => r.epoch === 2)!.mechanisms;
    const dir = path.join(whole.runDir, 'checkpoints', 'epoch-2.gabn');
    expect(
      JSON.parse(readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')).provenance.metrics.mechanisms,
    ).toEqual(recorded);
    expect(await measureCheckpointMechanisms(dir, data)).toEqual(recorded);
    // gabn mechanisms measures the same, on the same backend.
    const cli = spawnSync(
      process.execPath,
      ['bin/gabn.js', 'mechanisms', '--checkpoint', dir, '--data', data, '--json'],
      { encoding: 'utf8', env: { ...process.env, GABN_BACKEND: 'cpu' } },
    );
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual(JSON.parse(JSON.stringify(recorded)));
    // A smaller probe set: the first images of each group's evenly spaced ones, other figures.
    const fewer = spawnSync(
      process.execPath,
      ['bin/gabn.js', 'mechanisms', '--checkpoint', dir, '--data', data, '--probes', '2', '--json'],
      { encoding: 'utf8', env: { ...process.env, GABN_BACKEND: 'cpu' } },
    );
    expect(fewer.status, fewer.stderr).toBe(0);
    const two = JSON.parse(fewer.stdout) as Mechanisms;
    expect(two.probesPerGroup).toBe(2);
    for (const g of Object.values(two.groups)) expect(g.images).toBe(2);
    expect(two.gamDistance).not.toBe((recorded as Mechanisms).gamDistance);
    const refused = spawnSync(
      process.execPath,
      ['bin/gabn.js', 'mechanisms', '--checkpoint', dir, '--data', data, '--probes', '0'],
      { encoding: 'utf8' },
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('--probes 0 is out of range (expected a whole number in [1, 1000])');
  });

  it('validates each epoch as the audit would its checkpoint, and the checkpoint carries the figures', async () => {
    const dir = path.join(whole.runDir, 'checkpoints', 'epoch-2.gabn');
    const recorded = metrics(whole.runDir).find((r) => r.type === 'epoch' && r.epoch === 2)!.validation as {
      groups: Record<string, number>;
      average: number;
    };
    const carried = JSON.parse(readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')).provenance.metrics;
    expect(carried.validation).toEqual(recorded);
    // The audit's own path: the checkpoint read back from disk, its figures from the prepared audit.
    const embedder = await loadEmbedder(dir);
    try {
      const distances = await checkpointDistances(embedder, dir, loadDataset(val), { cacheDir: null });
      const figures = computeFigures(prepareAudit(distances.groups));
      const accuracies = Object.values(recorded.groups);
      expect(figures.groups).toHaveLength(accuracies.length);
      for (const [i, g] of figures.groups.entries()) expect(100 * g.accuracy).toBeCloseTo(accuracies[i]!, 10);
      expect(figures.paper.average).toBeCloseTo(recorded.average, 12);
    } finally {
      embedder.dispose();
    }
  });

  it('stopped twice and resumed ends with the same weights, head, discriminator and optimiser as a run that never stopped', async () => {
    // Without validation (it reads the weights, never changes them) to keep the test short.
    const first = await startRun(run('interrupted', false), { stopAfterStep: 1 });
    expect(first.state).toBe('stopped');
    expect(first.message).toContain('gabn train --resume');
    expect(status(first.runDir)).toMatchObject({
      state: 'stopped',
      step: 1,
      checkpoint: 'checkpoints/step-1.gabn',
    });
    // Stop again in the second epoch, then finish.
    const second = await resumeRun(first.runDir, { stopAfterStep: 3 });
    expect(second.state).toBe('stopped');
    const third = await resumeRun(first.runDir);
    expect(third.state).toBe('succeeded');
    // Epoch 1 was cut at step 1: its reported time includes the time spent before the stop.
    const saved = JSON.parse(
      readFileSync(path.join(first.runDir, 'checkpoints', 'step-1.gabn', 'checkpoint.json'), 'utf8'),
    );
    const before = saved.optimizer.state.position.epochSeconds as number;
    expect(before).toBeGreaterThan(0);
    const epoch1 = metrics(first.runDir).find((r) => r.type === 'epoch' && r.epoch === 1)!;
    expect(epoch1.seconds as number).toBeGreaterThan(before);
    const expected = files(whole.runDir, 'checkpoints/epoch-2.gabn');
    const actual = files(first.runDir, 'checkpoints/epoch-2.gabn');
    for (const name of Object.keys(expected)) {
      expect(actual[name]!.equals(expected[name]!), `${name} differs`).toBe(true);
    }
    const steps = (dir: string) =>
      metrics(dir)
        .filter((r) => r.type === 'step')
        .map((r) => r.loss);
    expect(steps(first.runDir)).toEqual(steps(whole.runDir));
    // The mechanism figures draw on none of the run's generators: the resumed run measures the same.
    const mechanisms = (dir: string) =>
      metrics(dir)
        .filter((r) => r.type === 'epoch')
        .map((r) => r.mechanisms);
    expect(mechanisms(first.runDir)).toHaveLength(2);
    expect(mechanisms(first.runDir)).toEqual(mechanisms(whole.runDir));
  });

  // Three micro-batched runs: about a minute alone on 2 cores, more beside the other test files.
  it('resumed with micro-batches, ends as the run with them that never stopped', async () => {
    const uninterrupted = await startRun(run('whole-micro', false, 4));
    const first = await startRun(run('interrupted-micro', false, 4), { stopAfterStep: 3 });
    expect(first.state).toBe('stopped');
    expect((await resumeRun(first.runDir)).state).toBe('succeeded');
    const expected = files(uninterrupted.runDir, 'checkpoints/epoch-2.gabn');
    const actual = files(first.runDir, 'checkpoints/epoch-2.gabn');
    for (const name of Object.keys(expected)) {
      expect(actual[name]!.equals(expected[name]!), `${name} differs`).toBe(true);
    }
    // Cut into micro-batches, the step is another computation: its weights are not those of one pass.
    expect(
      actual['weights.bin']!.equals(files(whole.runDir, 'checkpoints/epoch-2.gabn')['weights.bin']!),
    ).toBe(false);
  }, 300_000);

  it('stops at a non-finite loss, says where, and keeps the last good checkpoint', async () => {
    // On wasm: this test is about the run's reaction, and wasm steps are ten times faster than cpu's.
    await loadEngine({ backend: 'wasm' });
    const outcome = await startRun(run('diverged', false), {
      onBatch: (batch, step) =>
        step === 3 ? { ...batch, images: tf.fill(batch.images.shape, Number.NaN) as tf.Tensor4D } : undefined,
    });
    expect(outcome.state).toBe('failed');
    expect(outcome.message).toContain('step 3 (epoch 2)');
    expect(outcome.message).toContain('not finite');
    expect(outcome.checkpoint).toBe('checkpoints/epoch-1.gabn');
    expect(status(outcome.runDir)).toMatchObject({
      state: 'failed',
      step: 2,
      checkpoint: 'checkpoints/epoch-1.gabn',
    });
    expect(existsSync(path.join(outcome.runDir, 'checkpoints', 'epoch-1.gabn', 'weights.bin'))).toBe(true);
    expect(existsSync(path.join(outcome.runDir, 'checkpoints', 'epoch-2.gabn'))).toBe(false);
  });

  it('measures on as many probe images per group as its setting says, or none', async () => {
    const probed = (name: string, probes: number) =>
      startRun({ ...run(name, false), config: { ...config, epochs: 1, mechanismProbes: probes } });
    const two = await probed('two-probes', 2);
    const m = metrics(two.runDir).find((r) => r.type === 'epoch')!.mechanisms as Mechanisms;
    expect(m.probesPerGroup).toBe(2);
    for (const g of Object.values(m.groups)) expect(g.images).toBe(2);
    // gabn mechanisms then measures on the run's probe set by default, as the epoch did.
    const checkpoint = path.join(two.runDir, 'checkpoints', 'epoch-1.gabn');
    expect(await measureCheckpointMechanisms(checkpoint, data)).toEqual(m);
    const none = await probed('no-probes', 0);
    expect(metrics(none.runDir).find((r) => r.type === 'epoch')!.mechanisms).toBeUndefined();
    expect(readFileSync(path.join(none.runDir, 'log.txt'), 'utf8')).not.toContain('mechanisms');
  });

  it('keeps the epoch when its validation fails', async () => {
    const copy = path.join(root, 'val-copy');
    cpSync(val, copy, { recursive: true });
    const outcome = await startRun(
      { ...run('unvalidated', false), val: copy },
      {
        // Pull the test set away during the epoch's last step: validation cannot read a single face.
        onBatch: (_batch, step) => {
          if (step === 2) rmSync(copy, { recursive: true });
          return undefined;
        },
      },
    ).catch((error: Error) => error);
    expect(outcome).toBeInstanceOf(Error);
    const dir = path.join(root, 'unvalidated');
    expect(status(dir)).toMatchObject({ state: 'failed', step: 2, checkpoint: 'checkpoints/epoch-1.gabn' });
    expect(status(dir).message).toContain('its validation failed');
    expect(existsSync(path.join(dir, 'checkpoints', 'epoch-1.gabn', 'weights.bin'))).toBe(true);
  });

  it('resumed after a crash, records each step once', async () => {
    // A crash in step 4 leaves status.json "running" at the epoch-1 checkpoint (step 2), step 3 in
    // metrics.jsonl, and the line being written when the process died cut short. On wasm, as above.
    await loadEngine({ backend: 'wasm' });
    const crashed = await startRun(run('crashed', false), {
      onBatch: (_batch, step) => {
        if (step === 4) throw new Error('the process died');
        return undefined;
      },
    }).catch((error: Error) => error);
    expect((crashed as Error).message).toBe('the process died');
    const dir = path.join(root, 'crashed');
    expect(status(dir)).toMatchObject({ state: 'running', step: 3, checkpoint: 'checkpoints/epoch-1.gabn' });
    const step3 = metrics(dir).find((r) => r.step === 3)!;
    appendFileSync(path.join(dir, 'metrics.jsonl'), '{"type":"step","epoch":2,"st');

    const resumed = await resumeRun(dir);
    expect(resumed.state).toBe('succeeded');
    const records = metrics(dir);
    expect(records.map((r) => `${r.type} ${r.step}`)).toEqual([
      'step 1',
      'step 2',
      'epoch 2',
      'step 3',
      'step 4',
      'epoch 4',
    ]);
    // Step 3 ran again from the same checkpoint and the same generator states: the same loss.
    expect(records.find((r) => r.step === 3)!.loss).toBe(step3.loss);
    expect(readFileSync(path.join(dir, 'log.txt'), 'utf8')).toContain(
      'resuming from checkpoints/epoch-1.gabn (epoch 2, step 0 of it); 2 metrics lines recorded after step 2 dropped',
    );
  });
});

describe('gabn train', () => {
  it('refuses an unknown setting and an out-of-range value before writing anything', () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'gabn-train-cli-')), 'run');
    const result = spawnSync(
      process.execPath,
      [
        'bin/gabn.js',
        'train',
        '--preset',
        'gabn',
        '--config',
        'tiny',
        '--data',
        'x',
        '--out',
        out,
        '--set',
        'optimizer.lernRate=0.1',
        '--set',
        'erase.count=-2',
      ],
      { encoding: 'utf8' },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('optimizer.lernRate');
    expect(result.stderr).toContain('erase.count');
    expect(existsSync(out)).toBe(false);
  });
});

describe('gabn train and Ctrl-C', () => {
  it('stops after the current step on SIGINT, saves, and --resume finishes the run', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-train-sigint-'));
    const configFile = path.join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ ...config, epochs: 3 }));
    const out = path.join(dir, 'run');
    const env = { ...process.env, GABN_BACKEND: 'wasm' };
    const child = spawn(
      process.execPath,
      ['bin/gabn.js', 'train', '--preset', 'gabn', '--config', configFile, '--data', data, '--out', out],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      output += t;
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      output += t;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Interrupt once the first step is in metrics.jsonl.
    await expect
      .poll(() => existsSync(path.join(out, 'metrics.jsonl')), { timeout: 60_000, interval: 100 })
      .toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(output).toContain('SIGINT: stopping after the current step');
    const stopped = status(out);
    expect(stopped.state).toBe('stopped');
    expect(stopped.checkpoint).toMatch(/^checkpoints\/(step|epoch)-\d+\.gabn$/);
    expect(stopped.step).toBeLessThan(6);

    const resumed = spawnSync(process.execPath, ['bin/gabn.js', 'train', '--resume', out], {
      env,
      encoding: 'utf8',
    });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('completed 3 epochs (6 steps)');
    expect(status(out)).toMatchObject({ state: 'succeeded', step: 6 });
    const steps = metrics(out)
      .filter((r) => r.type === 'step')
      .map((r) => r.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('stops after the current step once the images are cached, not at the end of the epoch', async () => {
    // From the second epoch on nothing of a step waits on a file: the loop itself must give Ctrl-C
    // its turn, or the stop waits for the epoch's end.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-train-sigint-cached-'));
    const configFile = path.join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ ...config, epochs: 3, batchSize: 4 }));
    const out = path.join(dir, 'run');
    const child = spawn(
      process.execPath,
      ['bin/gabn.js', 'train', '--preset', 'gabn', '--config', configFile, '--data', data, '--out', out],
      { env: { ...process.env, GABN_BACKEND: 'wasm' }, stdio: ['ignore', 'ignore', 'ignore'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const epochDone = () =>
      existsSync(path.join(out, 'metrics.jsonl')) && metrics(out).some((r) => r.type === 'epoch');
    await expect.poll(epochDone, { timeout: 120_000, interval: 100 }).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const stopped = status(out);
    expect(stopped.state).toBe('stopped');
    // 4 steps an epoch: stopped inside the second epoch, with a step resume point.
    expect(stopped.checkpoint).toMatch(/^checkpoints\/step-[5-7]\.gabn$/);
  }, 240_000);
});
