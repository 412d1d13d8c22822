/**
 * `gabn ablate`: the paper's ablation (Table 4), every preset × seed trained, audited and compared
 * side by side (main/usecases/ablation.ts). Ctrl-C stops; the same command continues.
 */
import { GabnError } from '../base/errors.ts';
import { loadEngine } from '../engine/index.ts';
import { DEFAULT_RESAMPLES } from '../eval/bootstrap.ts';
import { type AccuracyRow, runAblation, TABLE4_PRESETS } from '../usecases/ablation.ts';
import { describeMechanisms } from '../usecases/training/mechanisms.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { phasedProgress } from './progress.ts';

const options = {
  data: { type: 'string', description: 'the training set' },
  val: { type: 'string', description: 'the test set with pairs (RFW layout) every run is audited on' },
  test: {
    type: 'strings',
    description: 'another test set every final checkpoint is audited on too (repeatable)',
  },
  out: { type: 'string', description: 'the ablation folder (runs and reports; reused to continue)' },
  presets: { type: 'string', description: `comma-separated presets (default ${TABLE4_PRESETS.join(',')})` },
  seeds: { type: 'number', description: 'runs per preset, with seeds base, base+1, … (default 1)' },
  config: { type: 'string', description: 'paper, small, tiny, or a JSON file (default paper)' },
  from: { type: 'string', description: 'a checkpoint every run starts from (a fine-tuning ablation)' },
  set: { type: 'strings', description: 'key=value overriding a setting of every run' },
  epochs: { type: 'number', description: 'epochs of every run' },
  bootstrap: { type: 'number', description: `bootstrap resamples (default ${DEFAULT_RESAMPLES})` },
} as const;

export const ablateCommand: CliCommand = {
  path: ['ablate'],
  summary: "train the paper's Table 4 rows and compare them side by side",
  usage: `gabn ablate --data TRAIN --val RFW --out DIR [--test RFW …] [--presets a,b,…] [--seeds K] [--from CKPT] [--config NAME|FILE] [--set key=value …] [--epochs N]\n\nTrains every preset with every seed into DIR/<preset>-seed<k>/ (gabn train run folders), audits each\nfinal checkpoint on the --val pairs and on every --test set, and writes DIR/ablation.html (side by\nside, with 95% intervals) and DIR/ablation.json. With --from, every run fine-tunes the same checkpoint. Ctrl-C stops; the same\ncommand continues.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
    for (const required of ['data', 'val', 'out'] as const) {
      if (typeof o[required] !== 'string') throw new GabnError('usage', `gabn ablate needs --${required}`);
    }
    const overrides = [...((o.set as string[] | undefined) ?? [])];
    if (o.epochs !== undefined) overrides.push(`epochs=${o.epochs}`);
    const engine = await loadEngine();
    context.stderr.write(`backend ${engine.backend}\n`);
    const progress = phasedProgress(context.stderr);
    const outcome = await runAblation(
      {
        data: o.data as string,
        val: o.val as string,
        tests: (o.test as string[] | undefined) ?? [],
        out: o.out as string,
        ...(typeof o.presets === 'string' ? { presets: o.presets.split(',').map((p) => p.trim()) } : {}),
        ...(o.seeds === undefined ? {} : { seeds: o.seeds as number }),
        ...(typeof o.config === 'string' ? { config: o.config } : {}),
        ...(typeof o.from === 'string' ? { from: o.from } : {}),
        overrides,
        ...(o.bootstrap === undefined ? {} : { bootstrap: o.bootstrap as number }),
        commandLine: ['gabn', 'ablate', ...args],
      },
      {
        signal: context.signal,
        onProgress: progress.update,
        onLog: (line) => {
          progress.done();
          context.stdout.write(`${line}\n`);
        },
      },
    );
    progress.done();
    const v = (e: { value: number | null }) => e.value?.toFixed(2) ?? 'n/a';
    const width = Math.max(0, ...outcome.rows.map((row) => row.preset.length));
    const line = (row: AccuracyRow) =>
      `  ${row.preset.padEnd(width)}  seed ${row.seed}  Avg ${v(row.average)}  STD ${v(row.std)}  SER ${v(row.ser)}\n`;
    for (const row of outcome.rows) {
      context.stdout.write(line(row));
      if (row.mechanisms) context.stdout.write(`    ${describeMechanisms(row.mechanisms)}\n`);
    }
    for (const test of outcome.tests) {
      context.stdout.write(`on ${test.data}:\n`);
      for (const row of test.rows) context.stdout.write(line(row));
    }
    context.stdout.write(`wrote ${outcome.files.join(', ')}\n`);
    return 0;
  },
};
