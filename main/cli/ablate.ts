/**
 * `gabn ablate`: the paper's ablation (Table 4). Trains each preset with each seed into
 * OUT/<preset>-seed<k>/ (a run folder of `gabn train`), audits every final checkpoint on the same
 * test pairs with the audit's protocol and bootstrap intervals, and writes the side-by-side report
 * OUT/ablation.html and the figures OUT/ablation.json.
 *
 * Runs already completed are kept and a stopped one is resumed, so after Ctrl-C the same command
 * continues where it stopped.
 *
 * With --from, every run starts from the same checkpoint: a fine-tuning ablation, where the baseline
 * row is the checkpoint trained on for as long as the others, and each other row adds its modules.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../data/index.ts';
import { loadEngine } from '../engine/index.ts';
import { GabnError } from '../errors.ts';
import { DEFAULT_PROTOCOL, prepareAudit } from '../eval/audit-figures.ts';
import { bootstrapFigures, DEFAULT_RESAMPLES, DEFAULT_SEED } from '../eval/bootstrap.ts';
import { PRESETS, resolveTrainingConfig } from '../gabn/presets.ts';
import { readRunStatus } from '../gabn/run-files.ts';
import { resumeRun, startRun } from '../gabn/trainer.ts';
import { writeFileAtomic } from '../report/atomic-write.ts';
import { buildAuditReport } from '../report/audit-report.ts';
import type { AuditReport } from '../report/report-model.ts';
import { formatOptions, parseArgs } from './args.ts';
import { loadCheckpointSource, reportProvenance, WRITERS } from './audit.ts';
import type { CliCommand, CliContext } from './command.ts';
import { progressLine } from './progress.ts';

/** The rows of the paper's Table 4. */
export const TABLE4_PRESETS = [
  'baseline',
  'random-erase',
  'confidence',
  'gam-ct',
  'gam-sfre',
  'gabn',
] as const;

const options = {
  data: { type: 'string', description: 'the training set' },
  val: { type: 'string', description: 'the test set with pairs (RFW layout) every run is audited on' },
  out: { type: 'string', description: 'the ablation folder (runs and reports; reused to continue)' },
  presets: { type: 'string', description: `comma-separated presets (default ${TABLE4_PRESETS.join(',')})` },
  seeds: { type: 'number', description: 'runs per preset, with seeds base, base+1, … (default 1)' },
  config: { type: 'string', description: 'paper, small, tiny, or a JSON file (default paper)' },
  from: { type: 'string', description: 'a checkpoint every run starts from (a fine-tuning ablation)' },
  set: { type: 'strings', description: 'key=value overriding a setting of every run' },
  epochs: { type: 'number', description: 'epochs of every run' },
  bootstrap: { type: 'number', description: `bootstrap resamples (default ${DEFAULT_RESAMPLES})` },
} as const;

interface Planned {
  readonly preset: string;
  readonly seed: number;
  readonly runDir: string;
  readonly label: string;
}

async function train(plan: Planned, request: Parameters<typeof startRun>[0], context: CliContext) {
  const progress = progressLine(context.stderr, plan.label);
  const hooks = { signal: context.signal, onProgress: progress.update };
  const status = existsSync(path.join(plan.runDir, 'status.json')) ? readRunStatus(plan.runDir) : undefined;
  if (status?.state === 'completed') {
    context.stdout.write(`${plan.label}: already trained (${status.checkpoint})\n`);
    return status.checkpoint!;
  }
  const outcome = status?.checkpoint ? await resumeRun(plan.runDir, hooks) : await startRun(request, hooks);
  progress.done();
  if (outcome.state !== 'completed') {
    throw new GabnError(
      outcome.state === 'stopped' ? 'cancelled' : 'internal',
      `${plan.label}: ${outcome.message}`,
      {
        expected:
          outcome.state === 'stopped'
            ? 'the same gabn ablate command again to continue'
            : 'a run that trains to the end (see its log.txt)',
      },
    );
  }
  return outcome.checkpoint!;
}

export const ablateCommand: CliCommand = {
  path: ['ablate'],
  summary: "train the paper's Table 4 rows and compare them side by side",
  usage: `gabn ablate --data TRAIN --val RFW --out DIR [--presets a,b,…] [--seeds K] [--from CKPT] [--config NAME|FILE] [--set key=value …] [--epochs N]\n\nTrains every preset with every seed into DIR/<preset>-seed<k>/ (gabn train run folders), audits each\nfinal checkpoint on the --val pairs, and writes DIR/ablation.html (side by side, with 95% intervals)\nand DIR/ablation.json. With --from, every run fine-tunes the same checkpoint. Ctrl-C stops; the same\ncommand continues.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
    for (const required of ['data', 'val', 'out'] as const) {
      if (typeof o[required] !== 'string') throw new GabnError('usage', `gabn ablate needs --${required}`);
    }
    const presets =
      typeof o.presets === 'string' ? o.presets.split(',').map((p) => p.trim()) : [...TABLE4_PRESETS];
    for (const preset of presets) {
      if (PRESETS[preset] === undefined || PRESETS[preset].needsCheckpoint) {
        throw new GabnError('usage', `'${preset}' is not a preset gabn ablate trains`, {
          expected: `some of ${TABLE4_PRESETS.join(', ')}`,
        });
      }
    }
    const seeds = (o.seeds as number | undefined) ?? 1;
    if (!Number.isInteger(seeds) || seeds < 1)
      throw new GabnError('usage', `--seeds ${seeds}`, { expected: 'an integer ≥ 1' });
    const resamples = (o.bootstrap as number | undefined) ?? DEFAULT_RESAMPLES;
    if (!Number.isInteger(resamples) || resamples < 1) {
      throw new GabnError('usage', `--bootstrap ${resamples}`, {
        expected: 'an integer ≥ 1 (the report has intervals)',
      });
    }
    const overrides = [...((o.set as string[] | undefined) ?? [])];
    if (o.epochs !== undefined) overrides.push(`epochs=${o.epochs}`);
    // Every configuration is resolved (and so checked) before the first run starts.
    const out = path.resolve(o.out as string);
    const plans = presets.flatMap((preset) => {
      const base = resolveTrainingConfig({
        preset,
        ...(typeof o.config === 'string' ? { config: o.config } : {}),
        overrides,
      });
      return Array.from({ length: seeds }, (_, k) => {
        const seed = base.seed + k;
        const plan: Planned = {
          preset,
          seed,
          runDir: path.join(out, `${preset}-seed${seed}`),
          label: `${preset} (seed ${seed})`,
        };
        return { plan, config: { ...base, seed } };
      });
    });
    const engine = await loadEngine();
    context.stderr.write(`backend ${engine.backend}; ${plans.length} runs\n`);
    const trained: { plan: Planned; checkpoint: string }[] = [];
    for (const { plan, config } of plans) {
      const checkpoint = await train(
        plan,
        {
          out: plan.runDir,
          preset: plan.preset,
          config,
          data: o.data as string,
          val: o.val as string,
          ...(typeof o.from === 'string' ? { from: o.from } : {}),
          command: ['gabn', 'ablate', ...args].join(' '),
        },
        context,
      );
      trained.push({ plan, checkpoint: path.join(plan.runDir, checkpoint) });
    }

    const dataset = loadDataset(o.val as string);
    const reports: AuditReport[] = [];
    const rows: Record<string, unknown>[] = [];
    for (const { plan, checkpoint } of trained) {
      const source = await loadCheckpointSource(checkpoint, dataset, {}, context);
      const audit = prepareAudit(source.groups, DEFAULT_PROTOCOL);
      const bootstrap = await bootstrapFigures(audit, {
        resamples,
        seed: DEFAULT_SEED,
        signal: context.signal,
        onProgress: progressLine(context.stderr, `bootstrap ${plan.label}`).update,
      });
      const report = buildAuditReport({
        audit,
        bootstrap,
        explicitFolds: source.explicitFolds,
        provenance: reportProvenance(source, ['gabn', 'ablate', ...args]),
      });
      reports.push(report);
      rows.push({
        preset: plan.preset,
        seed: plan.seed,
        checkpoint: path.relative(out, checkpoint),
        groups: Object.fromEntries(report.groups.map((g) => [g.name, g.accuracy])),
        average: report.overall.average,
        std: report.overall.std,
        ser: report.overall.ser,
      });
    }
    if (context.signal.aborted) throw new GabnError('cancelled', 'ablation cancelled; no report written');
    const labels = trained.map((t) => t.plan.label);
    await WRITERS['.html']!(path.join(out, 'ablation.html'), reports, { labels, noFaces: true });
    // The figures of every run, and each run's whole audit report (the audit's JSON schema).
    await writeFileAtomic(
      path.join(out, 'ablation.json'),
      `${JSON.stringify({ kind: 'gabn-ablation', version: 1, labels, rows, reports }, null, 2)}\n`,
    );
    for (const row of rows) {
      const v = (e: unknown) => (e as { value: number | null }).value?.toFixed(2) ?? 'n/a';
      context.stdout.write(
        `  ${String(row.preset).padEnd(13)} seed ${row.seed}  Avg ${v(row.average)}  STD ${v(row.std)}  SER ${v(row.ser)}\n`,
      );
    }
    context.stdout.write(`wrote ${path.join(out, 'ablation.html')}, ${path.join(out, 'ablation.json')}\n`);
    return 0;
  },
};
