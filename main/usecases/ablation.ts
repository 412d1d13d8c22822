/**
 * The paper's ablation (Table 4) as a use case: trains each preset with each seed into
 * OUT/<preset>-seed<k>/ (a training run folder), audits every final checkpoint on the same test
 * pairs with the audit's protocol and bootstrap intervals, and writes the side-by-side report
 * OUT/ablation.html and the figures OUT/ablation.json.
 *
 * Runs already completed are kept and a stopped one is resumed, so after a stop the same request
 * continues where it stopped. With `from`, every run starts from the same checkpoint: a fine-tuning
 * ablation, where the baseline row is the checkpoint trained on for as long as the others, and each
 * other row adds its modules.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../base/atomic-files.ts';
import { GabnError } from '../base/errors.ts';
import type { Dataset } from '../data/dataset.ts';
import { loadDataset } from '../data/load-dataset.ts';
import { DEFAULT_PROTOCOL, prepareAudit } from '../eval/audit-figures.ts';
import { bootstrapFigures, DEFAULT_RESAMPLES, DEFAULT_SEED } from '../eval/bootstrap.ts';
import { PRESETS, resolveTrainingConfig, TABLE4_PRESETS } from '../gabn/presets.ts';
import type { TrainingConfig } from '../gabn/training-config.ts';
import { readCheckpointJson } from '../models/checkpoint.ts';
import { buildAuditReport } from '../report/audit-report.ts';
import type { AuditReport, Estimate } from '../report/report-model.ts';
import { readRunStatus } from '../runs/run-folder.ts';
import { accuracyTable, meanTable, mechanismTable } from './ablation-tables.ts';
import { MAX_RESAMPLES, reportProvenance } from './audit/run-audit.ts';
import { checkpointSource } from './audit/sources.ts';
import { REPORT_WRITERS } from './audit/writers.ts';
import type { Mechanisms } from './training/records.ts';
import { type NewRun, resumeRun, startRun } from './training/training-run.ts';

export { TABLE4_PRESETS } from '../gabn/presets.ts';
export { mechanismTable } from './ablation-tables.ts';

export interface AblationRequest {
  readonly data: string;
  readonly val: string;
  readonly out: string;
  /** Default: the rows of Table 4. */
  readonly presets?: readonly string[];
  /** Runs per preset, with seeds base, base+1, … (default 1). */
  readonly seeds?: number;
  /** paper, small, tiny, or a JSON file. */
  readonly config?: string;
  readonly from?: string;
  /** key=value assignments applied to every run. */
  readonly overrides?: readonly string[];
  readonly bootstrap?: number;
  /** Further test sets every final checkpoint is audited on too (the `val` pairs stay the first). */
  readonly tests?: readonly string[];
  readonly commandLine: readonly string[];
}

export interface AblationHooks {
  readonly signal?: AbortSignal;
  /** Progress of each phase: a run's training steps ('gabn (seed 1)'), then each audit's bootstrap. */
  readonly onProgress?: (phase: string, done: number, total: number) => void;
  readonly onLog?: (line: string) => void;
}

/** One run of the grid: a preset with a seed, and its configuration. */
export interface GridRun {
  readonly preset: string;
  readonly seed: number;
  readonly label: string;
  readonly config: TrainingConfig;
}

export interface PlannedRun extends GridRun {
  readonly runDir: string;
}

/** A run's accuracies on one test set, with intervals: its audit report's figures. */
export interface AccuracyRow {
  readonly preset: string;
  readonly seed: number;
  readonly checkpoint: string;
  readonly groups: Record<string, Estimate>;
  readonly average: Estimate;
  readonly std: Estimate;
  readonly ser: Estimate;
}

export interface AblationRow extends AccuracyRow {
  /** The mechanism figures of the run's last epoch, as its final checkpoint carries them; null without. */
  readonly mechanisms: Mechanisms | null;
}

/** Every run on one of the further test sets (`tests`). */
export interface TestSetRows {
  /** The test set, as the request named it. */
  readonly data: string;
  readonly rows: AccuracyRow[];
}

export interface AblationOutcome {
  readonly rows: AblationRow[];
  /** The same runs on each further test set, in the request's order. */
  readonly tests: TestSetRows[];
  readonly files: readonly string[];
}

/**
 * Every preset × seed of the grid (default: the rows of Table 4, one seed), seeds base, base+1, …
 * from each preset's configuration as `configOf` gives it: all checked before the first run starts.
 */
export function ablationGrid(
  presets: readonly string[] | undefined,
  seeds: number | undefined,
  configOf: (preset: string) => TrainingConfig,
): GridRun[] {
  const chosen = presets ?? [...TABLE4_PRESETS];
  for (const preset of chosen) {
    if (PRESETS[preset] === undefined || PRESETS[preset].needsCheckpoint) {
      throw new GabnError('usage', `'${preset}' is not a preset the ablation trains`, {
        expected: `some of ${TABLE4_PRESETS.join(', ')}`,
      });
    }
  }
  const count = seeds ?? 1;
  if (!(Number.isInteger(count) && count >= 1 && count <= 100))
    throw new GabnError('usage', `--seeds ${count}`, { expected: 'an integer in [1, 100]' });
  return chosen.flatMap((preset) => {
    const base = configOf(preset);
    return Array.from({ length: count }, (_, k) => {
      const seed = base.seed + k;
      return { preset, seed, label: `${preset} (seed ${seed})`, config: { ...base, seed } };
    });
  });
}

/** Every run of the grid with its resolved configuration and its folder OUT/<preset>-seed<k>. */
export function planAblation(request: AblationRequest): PlannedRun[] {
  const out = path.resolve(request.out);
  const grid = ablationGrid(request.presets, request.seeds, (preset) =>
    resolveTrainingConfig({
      preset,
      ...(request.config ? { config: request.config } : {}),
      overrides: request.overrides ?? [],
    }),
  );
  return grid.map((run) => ({ ...run, runDir: path.join(out, `${run.preset}-seed${run.seed}`) }));
}

/** Trains one planned run to its end (or reuses it); returns its final checkpoint's path. */
async function trainPlanned(
  plan: PlannedRun,
  request: AblationRequest,
  hooks: AblationHooks,
): Promise<string> {
  const trainHooks = {
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    onProgress: (done: number, total: number) => hooks.onProgress?.(plan.label, done, total),
  };
  const status = existsSync(path.join(plan.runDir, 'status.json')) ? readRunStatus(plan.runDir) : undefined;
  if (status?.state === 'succeeded') {
    hooks.onLog?.(`${plan.label}: already trained (${status.training?.checkpoint})`);
    return path.join(plan.runDir, status.training!.checkpoint!);
  }
  const newRun: NewRun = {
    out: plan.runDir,
    preset: plan.preset,
    config: plan.config,
    data: request.data,
    val: request.val,
    ...(request.from ? { from: request.from } : {}),
    command: request.commandLine.join(' '),
  };
  const outcome =
    status !== undefined ? await resumeRun(plan.runDir, trainHooks) : await startRun(newRun, trainHooks);
  if (outcome.state !== 'succeeded') {
    const stopped = outcome.state !== 'failed';
    throw new GabnError(stopped ? 'cancelled' : 'diverged', `${plan.label}: ${outcome.message}`, {
      expected: stopped
        ? 'the same ablation again to continue'
        : 'a run that trains to the end (see its log.txt)',
    });
  }
  return path.join(plan.runDir, outcome.checkpoint!);
}

export async function runAblation(
  request: AblationRequest,
  hooks: AblationHooks = {},
): Promise<AblationOutcome> {
  checkResamples(request.bootstrap);
  const plans = planAblation(request);
  // A further test set that cannot be read is said before the first run trains, not after the last.
  for (const test of request.tests ?? []) loadDataset(test);
  hooks.onLog?.(`${plans.length} runs`);
  const trained: TrainedRun[] = [];
  for (const plan of plans) trained.push({ ...plan, checkpoint: await trainPlanned(plan, request, hooks) });
  return compareAblationRuns(trained, request, hooks);
}

function checkResamples(resamples: number | undefined): number {
  const count = resamples ?? DEFAULT_RESAMPLES;
  if (!(Number.isInteger(count) && count >= 1 && count <= MAX_RESAMPLES)) {
    throw new GabnError('usage', `--bootstrap ${count}`, {
      expected: `an integer in [1, ${MAX_RESAMPLES}] (the report has intervals)`,
    });
  }
  return count;
}

/** A run of the grid trained to its end: its final checkpoint. */
export interface TrainedRun {
  readonly preset: string;
  readonly seed: number;
  readonly label: string;
  readonly checkpoint: string;
}

export interface ComparisonRequest {
  readonly val: string;
  /** Further test sets, each audited for every run after `val`. */
  readonly tests?: readonly string[];
  /** Where ablation.html and ablation.json go. */
  readonly out: string;
  readonly bootstrap?: number;
  readonly commandLine: readonly string[];
}

/**
 * Audits every trained run's final checkpoint on the same test pairs (and on each further test set),
 * with the audit's protocol and bootstrap intervals, and writes the side-by-side report: what `gabn
 * ablate` ends with, and what the app's ablation does once its queued runs are done.
 */
export async function compareAblationRuns(
  trained: readonly TrainedRun[],
  request: ComparisonRequest,
  hooks: AblationHooks = {},
): Promise<AblationOutcome> {
  const resamples = checkResamples(request.bootstrap);
  const out = path.resolve(request.out);
  // Every test set is read before the first audit: a bad one fails at once, not after the others.
  const dataset = loadDataset(request.val);
  const further = (request.tests ?? []).map((data) => ({ data, dataset: loadDataset(data) }));
  const audit = (plan: TrainedRun, on: Dataset, suffix: string) =>
    auditCheckpoint(plan.checkpoint, on, `${plan.label}${suffix}`, resamples, request.commandLine, hooks);
  const reports: AuditReport[] = [];
  const rows: AblationRow[] = [];
  for (const plan of trained) {
    const report = await audit(plan, dataset, '');
    reports.push(report);
    rows.push({ ...accuracyRow(plan, report, out), mechanisms: carriedMechanisms(plan.checkpoint) });
  }
  const tests: TestSetRows[] = [];
  for (const { data, dataset: on } of further) {
    const testRows: AccuracyRow[] = [];
    for (const plan of trained)
      testRows.push(accuracyRow(plan, await audit(plan, on, ` on ${path.basename(data)}`), out));
    tests.push({ data, rows: testRows });
  }
  if (hooks.signal?.aborted) throw new GabnError('cancelled', 'ablation cancelled; no report written');
  const labels = trained.map((t) => t.label);
  const html = path.join(out, 'ablation.html');
  const json = path.join(out, 'ablation.json');
  await REPORT_WRITERS['.html']!(html, reports, {
    labels,
    noFaces: true,
    tables: [
      mechanismTable(rows, labels),
      ...tests.map((t) => accuracyTable(`On ${t.data}`, t.rows, labels)),
      ...(tests.length > 0 ? [meanTable([rows, ...tests.map((t) => t.rows)])] : []),
    ],
  });
  // The figures of every run, each run's whole audit report on the `val` pairs (the audit's JSON
  // schema), and its figures on each further test set.
  await writeFileAtomic(
    json,
    `${JSON.stringify({ kind: 'gabn-ablation', version: 1, labels, rows, reports, tests }, null, 2)}\n`,
  );
  return { rows, tests, files: [html, json] };
}

/** One checkpoint audited as `gabn audit` would: the default protocol, seeded bootstrap intervals. */
async function auditCheckpoint(
  checkpoint: string,
  dataset: Dataset,
  label: string,
  resamples: number,
  commandLine: readonly string[],
  hooks: AblationHooks,
): Promise<AuditReport> {
  const source = await checkpointSource(checkpoint, dataset, {
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    onProgress: (done, total) => hooks.onProgress?.(`embedding ${label}`, done, total),
  });
  const audit = prepareAudit(source.groups, DEFAULT_PROTOCOL);
  const bootstrap = await bootstrapFigures(audit, {
    resamples,
    seed: DEFAULT_SEED,
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    onProgress: (done, total) => hooks.onProgress?.(`bootstrap ${label}`, done, total),
  });
  return buildAuditReport({
    audit,
    bootstrap,
    explicitFolds: source.explicitFolds,
    provenance: reportProvenance(source, commandLine),
  });
}

function accuracyRow(plan: TrainedRun, report: AuditReport, out: string): AccuracyRow {
  return {
    preset: plan.preset,
    seed: plan.seed,
    checkpoint: path.relative(out, plan.checkpoint),
    groups: Object.fromEntries(report.groups.map((g) => [g.name, g.accuracy])),
    average: report.overall.average,
    std: report.overall.std,
    ser: report.overall.ser,
  };
}

/** The mechanism figures a checkpoint carries (an epoch checkpoint's), or null (one written without them). */
function carriedMechanisms(checkpoint: string): Mechanisms | null {
  const m = readCheckpointJson(checkpoint).provenance.metrics.mechanisms;
  return m !== null && typeof m === 'object' && !Array.isArray(m) ? (m as unknown as Mechanisms) : null;
}
