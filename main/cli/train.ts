/**
 * `gabn train`: a GABN training run (docs/training.md), or `--resume RUN` to continue one. Ctrl-C or
 * SIGTERM stops after the current step and saves what a resume needs.
 */
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { loadEngine } from '../engine/index.ts';
import { PRESETS, resolveTrainingConfig } from '../gabn/presets.ts';
import { resumeRun, startRun, type TrainOutcome } from '../usecases/training/training-run.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';
import { type ProgressLine, progressLine } from './progress.ts';

const options = {
  preset: { type: 'string', description: `the modules to train with: ${Object.keys(PRESETS).join(', ')}` },
  data: {
    type: 'string',
    description: 'the training set (BUPT layout <group>/<identity>/<image>, or a manifest CSV)',
  },
  val: {
    type: 'string',
    description: 'a test set with pairs (RFW layout) for per-epoch per-group validation',
  },
  from: { type: 'string', description: 'a checkpoint to start from (fine-tuning)' },
  config: { type: 'string', description: 'paper, small, tiny, or a JSON file (default paper)' },
  set: {
    type: 'strings',
    description: 'key=value to override a setting, e.g. --set optimizer.learningRate=0.01',
  },
  epochs: { type: 'number', description: 'the number of epochs (same as --set epochs=N)' },
  out: { type: 'string', description: 'the run folder (must not exist, or be empty)' },
  resume: { type: 'string', description: 'continue the stopped run in this folder' },
} as const;

function report(outcome: TrainOutcome, context: CliContext): number {
  context.stdout.write(`${outcome.message}\n`);
  return outcome.state === 'succeeded' ? 0 : outcome.state === 'failed' ? 1 : 130;
}

function progressOf(context: CliContext): { update(done: number, total: number): void; done(): void } {
  // The clock starts before the first step, so the first rate is that step's (not an instant).
  const line: ProgressLine = progressLine(context.stderr, 'training steps');
  let first: number | undefined;
  return {
    update(done, total) {
      // ETA from this session's steps only (a resumed run starts part way).
      if (first === undefined) first = done - 1;
      line.update(done - first, total - first);
    },
    done: () => line.done(),
  };
}

export const trainCommand: CliCommand = {
  path: ['train'],
  summary: 'train a face network with GABN (or any module of it), or resume a run',
  usage: `gabn train --preset P --data TRAIN --val RFW [--from CKPT] [--config NAME|FILE] [--set key=value ...] [--epochs N] --out RUN\ngabn train --resume RUN\n\nWrites RUN/config.json, status.json, metrics.jsonl, log.txt and checkpoints/ (docs/training.md).\nCtrl-C stops after the current step and saves a checkpoint that --resume continues from exactly.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
    const progress = progressOf(context);
    const hooks = {
      signal: context.signal,
      onProgress: (done: number, total: number) => progress.update(done, total),
    };
    if (typeof o.resume === 'string') {
      const others = Object.keys(o).filter((k) => k !== 'resume');
      if (others.length > 0) {
        throw new GabnError('usage', `--resume takes the run's own settings; remove --${others[0]}`);
      }
      await loadEngine();
      const outcome = await resumeRun(o.resume, hooks);
      progress.done();
      return report(outcome, context);
    }
    for (const required of ['preset', 'data', 'out'] as const) {
      if (typeof o[required] !== 'string')
        throw new GabnError('usage', `gabn train needs --${required} (or --resume RUN)`);
    }
    const overrides = [...((o.set as string[] | undefined) ?? [])];
    if (o.epochs !== undefined) overrides.push(`epochs=${o.epochs}`);
    // Everything is checked before anything is written.
    const config = resolveTrainingConfig({
      preset: o.preset as string,
      ...(typeof o.config === 'string' ? { config: o.config } : {}),
      overrides,
    });
    if (PRESETS[o.preset as string]?.needsCheckpoint && typeof o.from !== 'string') {
      throw new GabnError('usage', `the '${o.preset}' preset starts from a checkpoint`, {
        expected: '--from CKPT',
      });
    }
    const out = path.resolve(o.out as string);
    if (typeof o.val !== 'string') {
      context.stderr.write('no --val: the run is not validated per group after each epoch\n');
    }
    const engine = await loadEngine();
    context.stderr.write(`backend ${engine.backend}\n`);
    const outcome = await startRun(
      {
        out,
        preset: o.preset as string,
        config,
        data: o.data as string,
        ...(typeof o.val === 'string' ? { val: o.val } : {}),
        ...(typeof o.from === 'string' ? { from: o.from } : {}),
        command: ['gabn', 'train', ...args].join(' '),
      },
      hooks,
    );
    progress.done();
    return report(outcome, context);
  },
};
