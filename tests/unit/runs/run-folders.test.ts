/**
 * Run folders against crashes at the worst moment: a second trainer while the first is alive (in
 * this process and from the command line), a trainer killed with SIGKILL in its first epoch (before
 * any checkpoint), its folder reused with --out, leftover temporaries of the writes it cut short,
 * and the app's registry after the crash. The resumed run must end exactly as a run that never
 * stopped: nothing of it is lost.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { removeLeftoverTemps, writeJsonAtomicSync } from '../../../main/base/atomic-files.ts';
import { GabnError } from '../../../main/base/errors.ts';
import { loadEngine } from '../../../main/engine/index.ts';
import { resolveTrainingConfig } from '../../../main/gabn/presets.ts';
import { createJobRunner } from '../../../main/jobs/runner.ts';
import { readRunStatus } from '../../../main/runs/run-folder.ts';
import { acquireRunLock, currentRunStatus } from '../../../main/runs/run-lock.ts';
import { resumeRun, startRun } from '../../../main/usecases/training/training-run.ts';
import { makeTinyTrainingSet } from '../train/tiny-training-set.ts';

let root: string;
let data: string;
let configFile: string;

const SETTINGS = [
  'model.width=0.125',
  'model.inputSize=16',
  'model.embeddingSize=16',
  'discriminator.width=0.125',
  // 16 images: 4 steps per epoch, so the first epoch is long enough to be killed in.
  'batchSize=4',
  'microBatchSize=0',
  'epochs=2',
  'erase.maxHeight=4',
  'erase.maxWidth=4',
  'confidence.threshold=0.3',
  'optimizer.learningRate=0.01',
  'discriminator.learningRate=0.01',
];

function caught(promise: Promise<unknown>): Promise<GabnError> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => {
      if (error instanceof GabnError) return error;
      throw error;
    },
  );
}

function gabnTrain(args: string[]): ChildProcess {
  return spawn(process.execPath, ['bin/gabn.js', 'train', ...args], {
    env: { ...process.env, GABN_BACKEND: 'wasm' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
}

beforeAll(async () => {
  await loadEngine({ backend: 'wasm' });
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-runs-'));
  ({ data } = await makeTinyTrainingSet(root));
  configFile = path.join(root, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify(resolveTrainingConfig({ preset: 'gabn', config: 'tiny', overrides: SETTINGS })),
  );
}, 300_000);

describe('a run folder belongs to one live process', () => {
  it('refuses a second trainer with who holds it; killed in its first epoch, it resumes from its start and ends as a run that never stopped', async () => {
    const out = path.join(root, 'killed');
    const first = gabnTrain(['--preset', 'gabn', '--config', configFile, '--data', data, '--out', out]);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.on('exit', (_c, s) => resolve(s)));
    // Frozen as soon as its first step is recorded: alive, in its first epoch, no checkpoint yet.
    await expect
      .poll(() => existsSync(path.join(out, 'metrics.jsonl')), { timeout: 120_000, interval: 20 })
      .toBe(true);
    first.kill('SIGSTOP');
    expect(readRunStatus(out)?.training?.checkpoint).toBeUndefined();

    const holder = new RegExp(`in use by process ${first.pid} \\(training, since `);
    const resumed = await caught(resumeRun(out));
    expect(resumed.kind).toBe('busy');
    expect(resumed.message).toMatch(holder);
    const started = await caught(
      startRun({
        out,
        preset: 'gabn',
        config: JSON.parse(readFileSync(configFile, 'utf8')),
        data,
        command: 'test',
      }),
    );
    expect(started.kind).toBe('busy');
    expect(started.message).toMatch(holder);
    const cli = spawnSync(process.execPath, ['bin/gabn.js', 'train', '--resume', out], { encoding: 'utf8' });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toMatch(holder);
    expect(currentRunStatus(out)?.state).toBe('running');

    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // The process is gone: the run reads as interrupted, though status.json still says running.
    expect(readRunStatus(out)?.state).toBe('running');
    expect(currentRunStatus(out)).toMatchObject({ state: 'interrupted' });
    const reused = await caught(
      startRun({
        out,
        preset: 'gabn',
        config: JSON.parse(readFileSync(configFile, 'utf8')),
        data,
        command: 'test',
      }),
    );
    expect(reused.message).toMatch(/holds a training run, interrupted before its first checkpoint/);
    expect(reused.expected).toBe(
      `gabn train --resume ${out} to continue it (nothing of it is lost), or a new --out folder`,
    );

    // What the writes it cut short would have left, by its pid; and one of a live writer (this process).
    const dead = first.pid!;
    mkdirSync(path.join(out, 'checkpoints', `.epoch-1.gabn.partial-${dead}-0123abcd`));
    writeFileSync(
      path.join(out, 'checkpoints', `.epoch-1.gabn.partial-${dead}-0123abcd`, 'weights.bin'),
      'x',
    );
    writeFileSync(path.join(out, `.report.html.${dead}.89abcdef.tmp`), '<html');
    writeFileSync(path.join(out, `.status.json.${process.pid}.00aa11bb.tmp`), '{');

    const outcome = await resumeRun(out);
    expect(outcome.state).toBe('succeeded');
    expect(readdirSync(path.join(out, 'checkpoints')).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(existsSync(path.join(out, `.report.html.${dead}.89abcdef.tmp`))).toBe(false);
    expect(existsSync(path.join(out, `.status.json.${process.pid}.00aa11bb.tmp`))).toBe(true);
    expect(readFileSync(path.join(out, 'log.txt'), 'utf8')).toContain(
      'no checkpoint was saved before the run stopped: starting again from the beginning',
    );
    const steps = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; step: number })
      .filter((r) => r.type === 'step')
      .map((r) => r.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // The same run, never stopped: the same weights, head, discriminator and optimiser, byte for byte.
    const whole = path.join(root, 'whole');
    const reference = await startRun({
      out: whole,
      preset: 'gabn',
      config: JSON.parse(readFileSync(configFile, 'utf8')),
      data,
      command: 'test',
    });
    expect(reference.state).toBe('succeeded');
    for (const file of ['weights.bin', 'head.bin', 'discriminator.bin', 'optimizer.bin']) {
      const at = (dir: string) => readFileSync(path.join(dir, 'checkpoints', 'epoch-2.gabn', file));
      expect(at(out).equals(at(whole)), file).toBe(true);
    }
  }, 300_000);
});

describe('the app after a crash', () => {
  it('lists a run cut short as interrupted, removes what its writes left, and leaves live runs alone', () => {
    const runsDir = path.join(root, 'workspace', 'runs');
    const status = (id: string) => ({
      id,
      kind: 'synth',
      state: 'running',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    // Cut short: its process is gone, its lock stale, a temporary of each kind behind it.
    const cut = '20260101-000000-synth-aaaaaa';
    mkdirSync(path.join(runsDir, cut, 'checkpoints'), { recursive: true });
    writeJsonAtomicSync(path.join(runsDir, cut, 'status.json'), status(cut));
    writeFileSync(
      path.join(runsDir, cut, 'run.lock'),
      JSON.stringify({ pid: dead, hostname: os.hostname() }),
    );
    writeFileSync(path.join(runsDir, cut, `.averages.png.${dead}.0123abcd.tmp`), 'x');
    mkdirSync(path.join(runsDir, cut, 'checkpoints', `.step-3.gabn.partial-${dead}-0123abcd`));
    mkdirSync(path.join(runsDir, `.20260101-000000-synth-bbbbbb.partial-${dead}-0123abcd`));
    // Alive: this process holds its folder; its temporaries are its writes in flight.
    const live = '20260101-000001-synth-cccccc';
    mkdirSync(path.join(runsDir, live), { recursive: true });
    writeJsonAtomicSync(path.join(runsDir, live, 'status.json'), status(live));
    const lock = acquireRunLock(path.join(runsDir, live), 'a test');
    writeFileSync(path.join(runsDir, live, `.result.json.${dead}.0123abcd.tmp`), 'x');
    // Broken beyond reading: listed as nothing, and the app still starts.
    const broken = '20260101-000002-synth-dddddd';
    mkdirSync(path.join(runsDir, broken));
    writeFileSync(path.join(runsDir, broken, 'status.json'), '{"state": ');

    const runner = createJobRunner({ runsDir });
    expect(runner.get(cut).state).toBe('interrupted');
    expect(readRunStatus(path.join(runsDir, cut))?.state).toBe('interrupted');
    expect(readdirSync(path.join(runsDir, cut)).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(readdirSync(path.join(runsDir, cut, 'checkpoints'))).toEqual([]);
    expect(readdirSync(runsDir).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(runner.get(live).state).toBe('running');
    expect(existsSync(path.join(runsDir, live, `.result.json.${dead}.0123abcd.tmp`))).toBe(true);
    expect(() => runner.get(broken)).toThrow(/no job/);
    lock.release();
    // Nothing else matches the temporaries' names.
    expect(
      removeLeftoverTemps(path.join(runsDir, cut), ['.hidden', 'a.tmp', '.x.tmp', '.x.12.abc.tmp']),
    ).toEqual([]);
  });
});
