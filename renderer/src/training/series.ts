/**
 * A run's metrics as the charts read them: one array per figure, aligned with the step numbers,
 * filled from metrics.jsonl's records as they arrive (events of a job, or reads of the file). Plain
 * arrays outside Vue's reactivity: tens of thousands of steps cost nothing until drawn.
 */
import type { EpochRecord, MetricsRecord, StepRecord } from '../../../main/api/contract.ts';

/** The per-step figures of the paper's logging (DESIGN.md §5), by their name in metrics.jsonl. */
export const STEP_FIGURES = [
  'loss',
  'identityLoss',
  'adversarialLoss',
  'discriminatorLoss',
  'discriminatorAccuracy',
  'confidenceLoss',
  'lr',
  'imagesPerSecond',
] as const satisfies readonly (keyof StepRecord)[];
export type StepFigure = (typeof STEP_FIGURES)[number];

export interface RunSeries {
  readonly steps: number[];
  readonly figures: Record<StepFigure, (number | null)[]>;
  /** Mean P_max of each group at each step (the paper's Fig. 3). */
  readonly groupConfidence: Record<string, (number | null)[]>;
  readonly epochs: EpochRecord[];
  /** Records taken in (of the file: where the next read starts). */
  records: number;
}

export function emptySeries(): RunSeries {
  return {
    steps: [],
    figures: Object.fromEntries(STEP_FIGURES.map((f) => [f, []])) as unknown as RunSeries['figures'],
    groupConfidence: {},
    epochs: [],
    records: 0,
  };
}

/** Drops every step from `step` on: a resumed run records again the steps after its checkpoint. */
function cutFrom(series: RunSeries, step: number): void {
  let keep = series.steps.length;
  while (keep > 0 && series.steps[keep - 1]! >= step) keep--;
  series.steps.length = keep;
  for (const f of STEP_FIGURES) series.figures[f].length = keep;
  for (const g of Object.values(series.groupConfidence)) g.length = keep;
  const epochs = series.epochs.filter((e) => e.step < step);
  series.epochs.splice(0, series.epochs.length, ...epochs);
}

export function appendRecords(series: RunSeries, records: readonly MetricsRecord[]): void {
  for (const record of records) {
    series.records++;
    if (record.type === 'epoch') {
      // The same epoch read twice (from the file and from an event) is one epoch.
      const known = series.epochs.findIndex((e) => e.epoch === record.epoch);
      if (known >= 0) series.epochs.splice(known, 1, record);
      else series.epochs.push(record);
      continue;
    }
    if (record.type !== 'step') continue;
    if (series.steps.length > 0 && record.step <= series.steps.at(-1)!) cutFrom(series, record.step);
    const index = series.steps.length;
    series.steps.push(record.step);
    for (const f of STEP_FIGURES) series.figures[f].push(numberOrNull(record[f]));
    for (const [group, value] of Object.entries(record.groupConfidence ?? {})) {
      const values = series.groupConfidence[group] ?? [];
      series.groupConfidence[group] = values;
      // A group first seen late is missing before.
      while (values.length < index) values.push(null);
      values.push(numberOrNull(value));
    }
    for (const values of Object.values(series.groupConfidence))
      while (values.length <= index) values.push(null);
  }
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Mean of the finite values among the last `count`. */
function recentMean(values: readonly (number | null)[], count: number): number | undefined {
  const recent = values.slice(-count).filter((v): v is number => v !== null && v > 0);
  return recent.length > 0 ? recent.reduce((a, b) => a + b, 0) / recent.length : undefined;
}

export interface RunPlan {
  readonly doneSteps: number;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly batchSize: number;
}

/**
 * Seconds until the run ends: the steps left at the pace of the last 20 (batch over images per
 * second), and each epoch end left at the mean of what epoch ends took so far beyond their steps
 * (validation, the attention strip, the checkpoint). Undefined before the first step.
 */
export function remainingSeconds(series: RunSeries, plan: RunPlan): number | undefined {
  const ips = recentMean(series.figures.imagesPerSecond, 20);
  if (ips === undefined) return undefined;
  const perStep = plan.batchSize / ips;
  const stepSeconds = new Map<number, number>();
  series.steps.forEach((step, i) => {
    const v = series.figures.imagesPerSecond[i];
    if (v !== null && v !== undefined && v > 0) stepSeconds.set(step, plan.batchSize / v);
  });
  const overheads = series.epochs.map((e) => {
    let steps = 0;
    for (let s = e.step - plan.stepsPerEpoch + 1; s <= e.step; s++) steps += stepSeconds.get(s) ?? perStep;
    return Math.max(0, e.seconds - steps);
  });
  const overhead = overheads.length > 0 ? overheads.reduce((a, b) => a + b, 0) / overheads.length : 0;
  const stepsLeft = Math.max(0, plan.totalSteps - plan.doneSteps);
  const epochEndsLeft =
    Math.ceil(plan.totalSteps / plan.stepsPerEpoch) - Math.floor(plan.doneSteps / plan.stepsPerEpoch);
  return stepsLeft * perStep + Math.max(0, epochEndsLeft) * overhead;
}

/** "1 h 05 min", "3 min 20 s", "12 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600)
    return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}
