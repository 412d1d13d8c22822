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
import type { Dataset } from '../../data/dataset.ts';
import { AlignedImageCache } from '../../data/image-cache.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { type TrainingConfig, validateConfig } from '../../gabn/training-config.ts';
import { loadCheckpoint } from '../../models/checkpoint.ts';
import { createIResNet, type IResNet } from '../../models/iresnet.ts';
import { iresnetSpec } from '../../models/iresnet-spec.ts';
import { disposeParams } from '../../models/parameters.ts';
import { createRunFolder, readRunConfig, readRunStatus, truncateMetrics } from '../../runs/run-folder.ts';
import { acquireRunLock, currentRunStatus, describeHolder, runLockHolder } from '../../runs/run-lock.ts';
import { type TrainOutcome, trainLoop } from './loop.ts';
import {
  disposeTrainState,
  faceSeed,
  newRunState,
  type Position,
  restoreRunState,
  startPosition,
  type TrainingState,
} from './resume-point.ts';
import { log, recordStatus, type TrainHooks, type TrainingParams, type TrainingSession } from './session.ts';
import { loadTrainingSet, stepsPerEpoch, type TrainingSet } from './training-data.ts';

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

/** Everything a run's first step needs, from its parameters: data, network, state. */
async function initialState(params: TrainingParams) {
  const set = loadTrainingSet(params.data);
  const val = params.val ? loadDataset(params.val) : undefined;
  let config = params.config;
  let face: IResNet;
  let from: Awaited<ReturnType<typeof loadCheckpoint>> | undefined;
  if (params.from) {
    from = await loadCheckpoint(params.from);
    face = from.model;
    const s = face.spec;
    // A fine-tune keeps the checkpoint's network, whatever the configuration's model says.
    config = {
      ...config,
      model: { depth: s.depth, width: s.width, inputSize: s.inputSize, embeddingSize: s.embeddingSize },
    };
  } else {
    const m = config.model;
    face = createIResNet(iresnetSpec(m), faceSeed(config));
  }
  const steps = stepsPerEpoch(set, config);
  let state = newRunState(config, set, face);
  // A fine-tune keeps the checkpoint's head when it has one for the same identities, and its
  // discriminator when it has one for the same groups.
  if (from?.head && from.head.classes === set.identities) {
    disposeParams(state.train.head.params);
    state = { ...state, train: { ...state.train, head: from.head } };
  }
  if (state.train.discriminator && from?.discriminator?.spec.groups === set.dataset.groups.length) {
    disposeParams(state.train.discriminator.params);
    state = { ...state, train: { ...state.train, discriminator: from.discriminator } };
  }
  return { set, val, config, steps, state };
}

function session(
  runDir: string,
  times: { createdAt: string },
  params: TrainingParams,
  parts: { set: TrainingSet; val?: Dataset; config: TrainingConfig; steps: number; state: TrainingState },
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
  createRunFolder(runDir, {
    kind: 'train',
    params: { ...params, config: parts.config },
    createdAt,
    command: request.command,
  });
  const run = session(runDir, { createdAt }, params, parts, hooks);
  recordStatus(run, 'running', { epoch: 1, step: 0, checkpoint: undefined }, 'starting');
  log(run, describeStart(run, request.from));
  return trainFrom(run, startPosition(parts.state), undefined, () => lock.release());
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
 * none yet (killed during its first epoch) starts again from the beginning with its configuration.
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
