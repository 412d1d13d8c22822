/**
 * GABN training runs (paper §3, Algorithm 1; DESIGN.md §5) as a use case that `gabn train`, the app's
 * train job and the ablation call alike: baseline ArcFace training from scratch or fine-tuning from a
 * checkpoint, with every module of the configuration, validated on an RFW-style test set after each
 * epoch, into a run folder (main/runs). A run folder belongs to one live process at a time.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { removeLeftoverTemps } from '../../base/atomic-files.ts';
import { GabnError } from '../../base/errors.ts';
import { AlignedImageCache } from '../../data/image-cache.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { type TrainingConfig, validateConfig } from '../../gabn/training-config.ts';
import {
  createRunFolder,
  type RunConfig,
  readRunConfig,
  readRunStatus,
  truncateMetrics,
} from '../../runs/run-folder.ts';
import { acquireRunLock, currentRunStatus, describeHolder, runLockHolder } from '../../runs/run-lock.ts';
import { type InitialState, initialState } from './initial-state.ts';
import { type TrainOutcome, trainLoop } from './loop.ts';
import { disposeTrainState, type Position, restoreRunState, startPosition } from './resume-point.ts';
import { log, recordStatus, type TrainHooks, type TrainingParams, type TrainingSession } from './session.ts';
import { loadTrainingSet, stepsPerEpoch } from './training-data.ts';

export type { TrainOutcome } from './loop.ts';
export type { TrainHooks, TrainingParams } from './session.ts';

export interface NewRun {
  readonly out: string;
  readonly preset: string;
  readonly config: TrainingConfig;
  readonly data: string;
  readonly val?: string;
  readonly from?: string;
  /** The command line, for config.json. */
  readonly command: string;
}

function session(
  runDir: string,
  times: { createdAt: string },
  params: TrainingParams,
  parts: InitialState,
  hooks: TrainHooks,
): TrainingSession {
  return {
    runDir,
    id: path.basename(runDir),
    createdAt: times.createdAt,
    startedAt: new Date().toISOString(),
    params: { ...params, config: parts.config },
    config: parts.config,
    set: parts.set,
    ...(parts.val ? { val: parts.val } : {}),
    state: parts.state,
    stepsPerEpoch: parts.steps,
    cache: new AlignedImageCache(),
    hooks,
  };
}

/** The loop, then the tensors freed and the folder released whatever happened. */
async function trainFrom(
  run: TrainingSession,
  start: Position,
  checkpoint: string | undefined,
  release: () => void,
): Promise<TrainOutcome> {
  try {
    return await trainLoop(run, start, checkpoint);
  } finally {
    disposeTrainState(run.state.train);
    release();
  }
}

/** Starts a run in `request.out` (a new or empty folder) and trains it. */
export async function startRun(request: NewRun, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const runDir = path.resolve(request.out);
  if (existsSync(runDir) && readdirSync(runDir).length > 0) refuseUsedFolder(runDir);
  const params: TrainingParams = {
    preset: request.preset,
    config: request.config,
    data: path.resolve(request.data),
    ...(request.val ? { val: path.resolve(request.val) } : {}),
    ...(request.from ? { from: path.resolve(request.from) } : {}),
  };
  const parts = await initialState(params);
  const createdAt = new Date().toISOString();
  mkdirSync(path.join(runDir, 'checkpoints'), { recursive: true });
  const lock = acquireRunLock(runDir, 'training');
  const saved: RunConfig = { kind: 'train', params: { ...params }, createdAt, command: request.command };
  const run = begin(runDir, saved, parts, hooks);
  return trainFrom(run, startPosition(parts.state), undefined, () => lock.release());
}

/**
 * A run's first step is near: config.json records the configuration it trains with (a fine-tune's
 * network is its checkpoint's, whatever the request said), status.json says it runs.
 */
function begin(runDir: string, saved: RunConfig, parts: InitialState, hooks: TrainHooks): TrainingSession {
  const params = saved.params as unknown as TrainingParams;
  createRunFolder(runDir, { ...saved, params: { ...params, config: parts.config } });
  const run = session(runDir, saved, params, parts, hooks);
  recordStatus(run, 'running', { epoch: 1, step: 0, checkpoint: undefined }, 'starting');
  log(run, describeStart(run, params.from));
  return run;
}

/**
 * Why a folder that is not empty cannot take a new run: a live process works in it, or it holds a
 * training run (which --resume continues, even one killed before its first checkpoint), or
 * something else.
 */
function refuseUsedFolder(runDir: string): never {
  const holder = runLockHolder(runDir);
  if (holder !== undefined) {
    throw new GabnError('busy', `the run folder is in use by ${describeHolder(holder)}`, {
      file: runDir,
      expected: 'a new run folder, or that process to finish first',
    });
  }
  let kind: string | undefined;
  let status: ReturnType<typeof currentRunStatus>;
  try {
    kind = readRunConfig(runDir).kind;
    status = currentRunStatus(runDir);
  } catch {
    kind = undefined;
  }
  if (kind === 'train' && status !== undefined && status.state !== 'succeeded') {
    const first = status.training?.checkpoint === undefined ? ' before its first checkpoint' : '';
    throw new GabnError('usage', `${runDir} holds a training run, ${status.state}${first}`, {
      expected: `gabn train --resume ${runDir} to continue it (nothing of it is lost), or a new --out folder`,
    });
  }
  throw new GabnError('usage', `${runDir} is not empty`, {
    expected: 'a new run folder (or --resume to continue the run in it)',
  });
}

function describeStart(run: TrainingSession, from: string | undefined): string {
  const { set, config } = run;
  return `preset ${run.params.preset}: ${set.dataset.images.length} images of ${set.identities} identities in ${set.dataset.groups.length} groups; ${run.stepsPerEpoch} steps per epoch, ${config.epochs} epochs${from ? `; from ${from}` : ''}`;
}

/**
 * Continues a stopped, failed or interrupted run from its last resume checkpoint; a run that saved
 * none yet (killed during its first epoch) starts again from the beginning with its configuration,
 * and a run folder prepared but never started (a queued run of the app) starts.
 */
export async function resumeRun(runDir: string, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const dir = path.resolve(runDir);
  const saved = readRunConfig(dir);
  const file = path.join(dir, 'config.json');
  if (saved.kind !== 'train') {
    throw new GabnError('usage', `not a training run: its kind is '${saved.kind}'`, {
      file,
      expected: 'a folder written by gabn train --out',
    });
  }
  const stored = saved.params as unknown as TrainingParams;
  const params: TrainingParams = { ...stored, config: validateConfig(stored.config, file) };
  const lock = acquireRunLock(dir, 'training');
  try {
    const status = readRunStatus(dir);
    if (status?.state === 'succeeded') {
      throw new GabnError('usage', `the run in ${dir} is already complete`, {
        expected: 'a stopped, failed or interrupted run',
      });
    }
    // What writes cut short by the crash left behind.
    removeLeftoverTemps(dir);
    const checkpoints = path.join(dir, 'checkpoints');
    mkdirSync(checkpoints, { recursive: true });
    removeLeftoverTemps(checkpoints);
    const checkpoint = status?.training?.checkpoint;
    if (status?.training === undefined) {
      // Prepared by a queue (the app's train job) and never started: its first start.
      const parts = await initialState(params);
      truncateMetrics(dir, 0);
      const run = begin(dir, { ...saved, params: { ...params } }, parts, hooks);
      return await trainFrom(run, startPosition(parts.state), undefined, () => lock.release());
    }
    if (checkpoint === undefined) {
      const parts = await initialState(params);
      const run = session(dir, saved, params, parts, hooks);
      const dropped = truncateMetrics(dir, 0);
      log(
        run,
        `no checkpoint was saved before the run stopped: starting again from the beginning${dropped > 0 ? ` (${dropped} metrics lines dropped)` : ''}`,
      );
      return await trainFrom(run, startPosition(parts.state), undefined, () => lock.release());
    }
    const set = loadTrainingSet(params.data);
    const val = params.val ? loadDataset(params.val) : undefined;
    const restored = await restoreRunState(path.join(dir, checkpoint), params.config);
    const steps = stepsPerEpoch(set, params.config);
    const run = session(
      dir,
      saved,
      params,
      { set, ...(val ? { val } : {}), config: params.config, steps, state: restored.state },
      hooks,
    );
    const { position } = restored;
    const resumedStep = position.epoch * steps + position.stepInEpoch;
    const dropped = truncateMetrics(dir, resumedStep);
    log(
      run,
      `resuming from ${checkpoint} (epoch ${position.epoch + 1}, step ${position.stepInEpoch} of it)${
        dropped > 0
          ? `; ${dropped} metrics line${dropped === 1 ? '' : 's'} recorded after step ${resumedStep} dropped, as those steps run again`
          : ''
      }`,
    );
    return await trainFrom(run, position, checkpoint, () => lock.release());
  } catch (error) {
    lock.release();
    throw error;
  }
}
