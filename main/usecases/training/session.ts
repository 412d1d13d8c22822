/**
 * A training run in progress: what the loop works with (the run folder, the configuration, the data,
 * the state) and how it reports (status.json, log.txt, metrics.jsonl, and the caller's hooks).
 */
import type { Dataset } from '../../data/dataset.ts';
import type { AlignedImageCache } from '../../data/image-cache.ts';
import type { StepMetrics, TrainBatch } from '../../gabn/step/index.ts';
import type { TrainingConfig } from '../../gabn/training-config.ts';
import type { JsonObject } from '../../models/checkpoint-schema.ts';
import { appendMetrics, appendRunLog, type RunState, writeRunStatus } from '../../runs/run-folder.ts';
import type { MetricsRecord, StepRecord } from './records.ts';
import type { TrainingState } from './resume-point.ts';
import type { TrainingSet } from './training-data.ts';

/** What `gabn train` records as the run's parameters (config.json's params). */
export interface TrainingParams {
  readonly preset: string;
  readonly config: TrainingConfig;
  /** Absolute paths. */
  readonly data: string;
  readonly val?: string;
  readonly from?: string;
}

export interface TrainHooks {
  readonly signal?: AbortSignal;
  /** After every step: steps done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly onLog?: (line: string) => void;
  /** After every step and epoch: the record metrics.jsonl receives. */
  readonly onMetrics?: (record: MetricsRecord) => void;
  /** Stop after this many steps of the run, as if interrupted (tests of resume). */
  readonly stopAfterStep?: number;
  /** Sees each batch before its step, and may replace it (tests inject a non-finite value). */
  readonly onBatch?: (batch: TrainBatch, step: number) => TrainBatch | undefined;
  /**
   * What a stop on `signal` is: a person's request (`stopped`, the default), or the app closing under
   * the run (`interrupted`). Either way the run saves a resume point after its current step.
   */
  readonly stopState?: () => 'stopped' | 'interrupted';
  /** The queue worker that runs it, written into status.json for the Runs view. */
  readonly worker?: string;
}

export interface TrainingSession {
  readonly runDir: string;
  readonly id: string;
  readonly createdAt: string;
  readonly startedAt: string;
  readonly params: TrainingParams;
  readonly config: TrainingConfig;
  readonly set: TrainingSet;
  readonly val?: Dataset;
  readonly state: TrainingState;
  readonly stepsPerEpoch: number;
  readonly cache: AlignedImageCache;
  readonly hooks: TrainHooks;
}

export function totalSteps(session: TrainingSession): number {
  return session.config.epochs * session.stepsPerEpoch;
}

/** Where the run is, rewritten atomically after every step. */
export function recordStatus(
  session: TrainingSession,
  state: RunState,
  where: { epoch: number; step: number; checkpoint: string | undefined },
  message: string,
): void {
  const finished = state !== 'running';
  writeRunStatus(session.runDir, {
    id: session.id,
    kind: 'train',
    state,
    createdAt: session.createdAt,
    startedAt: session.startedAt,
    ...(finished ? { finishedAt: new Date().toISOString() } : { pid: process.pid }),
    progress: { done: where.step, total: totalSteps(session), message },
    message,
    ...(state === 'failed' ? { error: message } : {}),
    ...(session.hooks.worker === undefined ? {} : { worker: session.hooks.worker }),
    training: {
      epoch: where.epoch,
      stepsPerEpoch: session.stepsPerEpoch,
      ...(where.checkpoint ? { checkpoint: where.checkpoint } : {}),
    },
  });
}

export function log(session: TrainingSession, line: string): void {
  appendRunLog(session.runDir, line);
  session.hooks.onLog?.(line);
}

export function recordMetrics(session: TrainingSession, record: MetricsRecord): void {
  appendMetrics(session.runDir, { ...record });
  session.hooks.onMetrics?.(record);
}

/** One step's line of metrics.jsonl: every figure of the paper's logging (DESIGN.md §5). */
export function stepRecord(
  session: TrainingSession,
  metrics: StepMetrics,
  epoch: number,
  step: number,
  lr: number,
  seconds: number,
): StepRecord {
  const groupConfidence: Record<string, number | null> = {};
  session.set.dataset.groups.forEach((name, g) => {
    const c = metrics.groupConfidence[g]!;
    groupConfidence[name] = Number.isFinite(c) ? c : null;
  });
  return {
    type: 'step',
    epoch: epoch + 1,
    step,
    loss: metrics.loss,
    identityLoss: metrics.identityLoss,
    adversarialLoss: metrics.adversarialLoss,
    discriminatorLoss: metrics.discriminatorLoss,
    discriminatorAccuracy: metrics.discriminatorAccuracy,
    confidenceLoss: metrics.confidenceLoss,
    groupConfidence,
    lr,
    imagesPerSecond: session.config.batchSize / seconds,
  };
}

/** The data a checkpoint of this run was trained on, as its provenance records it. */
export function provenanceData(params: TrainingParams): JsonObject {
  return {
    train: params.data,
    ...(params.val ? { val: params.val } : {}),
    ...(params.from ? { from: params.from } : {}),
  };
}
