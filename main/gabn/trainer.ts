/**
 * GABN training runs (paper §3, Algorithm 1; DESIGN.md §5): baseline ArcFace training from scratch or
 * fine-tuning from a checkpoint, with every module of the configuration, epoch by epoch, validated on
 * an RFW-style test set after each epoch, into a run folder (run-files.ts).
 *
 * Exact resume: everything the next step depends on is saved with each resume checkpoint (weights,
 * batch-norm estimates, head, discriminator, momentum buffers, the epoch's image order, the position in
 * it, and the generators' states), so a run stopped and resumed ends with the same weights as one that
 * never stopped.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../data/dataset.ts';
import { flipHorizontal } from '../data/image.ts';
import { AlignedImageCache } from '../data/image-cache.ts';
import { loadDataset } from '../data/load-dataset.ts';
import { tf } from '../engine/tf.ts';
import { GabnError } from '../errors.ts';
import { checkpointDistances } from '../eval/embeddings.ts';
import { paperFairness } from '../eval/fairness.ts';
import { verify } from '../eval/verification.ts';
import { loadCheckpoint, saveCheckpoint } from '../models/checkpoint.ts';
import type { JsonObject, JsonValue } from '../models/checkpoint-schema.ts';
import { createDiscriminator } from '../models/discriminator.ts';
import { iresnetEmbedder } from '../models/embedder.ts';
import { createIResNet, type IResNet } from '../models/iresnet.ts';
import { iresnetSpec } from '../models/iresnet-spec.ts';
import { createMarginHead } from '../models/margin-head.ts';
import { disposeParams } from '../models/parameters.ts';
import { createSgd, disposeSgd, learningRateAt, restoreSgd, type Sgd, sgdState } from './optimizer.ts';
import { createPrng, type Prng, type PrngState, restorePrng } from './prng.ts';
import {
  appendLog,
  appendMetrics,
  type RunConfig,
  type RunState,
  readRunConfig,
  readRunStatus,
  truncateMetrics,
  writeRunConfig,
  writeRunStatus,
} from './run-files.ts';
import { epochOrder } from './sampler.ts';
import {
  NonFiniteStepError,
  type StepMetrics,
  type TrainBatch,
  type TrainState,
  trainStep,
} from './train-step.ts';
import type { TrainingConfig } from './training-config.ts';

export interface TrainHooks {
  readonly signal?: AbortSignal;
  /** After every step: steps done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly onLog?: (line: string) => void;
  /** Stop after this many steps of the run, as if interrupted (tests of resume). */
  readonly stopAfterStep?: number;
  /** Sees each batch before its step, and may replace it (tests inject a non-finite value). */
  readonly onBatch?: (batch: TrainBatch, step: number) => TrainBatch | undefined;
}

export interface TrainOutcome {
  readonly state: Exclude<RunState, 'running'>;
  readonly message: string;
  readonly runDir: string;
  /** The last good checkpoint, when there is one. */
  readonly checkpoint?: string;
}

export interface NewRun {
  readonly out: string;
  readonly preset: string;
  readonly config: TrainingConfig;
  readonly data: string;
  readonly val?: string;
  readonly from?: string;
  readonly command: string;
}

/** The position and generator states saved with a resume checkpoint. */
interface Position {
  /** 0-based epoch in progress. */
  readonly epoch: number;
  /** Steps of that epoch already done. */
  readonly stepInEpoch: number;
  /** The epoch's image order; null at an epoch boundary (drawn when the epoch starts). */
  readonly order: number[] | null;
  readonly shuffle: PrngState;
  readonly augment: PrngState;
  readonly mask: PrngState;
  /** Seconds already spent on this epoch before the stop (so a resumed epoch reports its whole time). */
  readonly epochSeconds?: number;
}

/** The training set as the step needs it: identities as head classes, groups as discriminator classes. */
interface TrainingSet {
  readonly dataset: Dataset;
  readonly labels: Int32Array;
  readonly groupOf: Int32Array;
  readonly identities: number;
}

function trainingSet(root: string): TrainingSet {
  const dataset = loadDataset(root);
  if (dataset.images.length === 0) {
    throw new GabnError('dataset', 'the training set has no images', {
      file: root,
      expected: '<root>/<group>/<identity>/<image>.jpg (BUPT layout) or a manifest CSV',
    });
  }
  const keys = [...new Set(dataset.images.map((i) => `${i.group}/${i.identity}`))].sort();
  const index = new Map(keys.map((k, i) => [k, i]));
  return {
    dataset,
    labels: Int32Array.from(dataset.images, (i) => index.get(`${i.group}/${i.identity}`)!),
    groupOf: Int32Array.from(dataset.images, (i) => dataset.groups.indexOf(i.group)),
    identities: keys.length,
  };
}

interface Session {
  readonly runDir: string;
  readonly run: RunConfig;
  readonly config: TrainingConfig;
  readonly set: TrainingSet;
  readonly val?: Dataset;
  readonly state: TrainState;
  readonly augment: Prng;
  readonly shuffle: Prng;
  readonly stepsPerEpoch: number;
  readonly cache: AlignedImageCache;
}

function stepsPerEpoch(set: TrainingSet, config: TrainingConfig): number {
  // Group-balanced epochs have as many images as natural ones (up to rounding to the groups).
  const images =
    config.sampling === 'natural'
      ? set.groupOf.length
      : Math.floor(set.groupOf.length / new Set(set.groupOf).size) * new Set(set.groupOf).size;
  const steps = Math.floor(images / config.batchSize);
  if (steps === 0) {
    throw new GabnError('config', `batchSize ${config.batchSize} is larger than the training set`, {
      expected: `at most ${images} (the training set's images)`,
    });
  }
  return steps;
}

/** Momentum buffers of both optimisers as checkpoint slot tensors. */
function optimizerTensors(state: TrainState): Record<string, tf.Tensor> {
  const tensors: Record<string, tf.Tensor> = {};
  const add = (prefix: string, sgd: Sgd | undefined) => {
    if (!sgd) return;
    for (const [name, { shape, values }] of Object.entries(sgdState(sgd))) {
      tensors[`${prefix}/${name}`] = tf.tensor(values, shape);
    }
  };
  add('face', state.faceOptimizer);
  add('discriminator', state.discriminatorOptimizer);
  return tensors;
}

async function saveResumePoint(
  session: Session,
  file: string,
  position: Position,
  metrics: JsonObject,
): Promise<string> {
  const { state, run, set } = session;
  const dir = path.join(session.runDir, 'checkpoints', file);
  const tensors = optimizerTensors(state);
  try {
    await saveCheckpoint(dir, {
      model: state.face,
      groups: set.dataset.groups,
      classCount: set.identities,
      head: state.head,
      margin: {
        kind: session.config.margin.kind,
        s: session.config.margin.scale,
        m: session.config.margin.margin,
      },
      ...(state.discriminator ? { discriminator: state.discriminator } : {}),
      optimizer: {
        state: { kind: 'sgd', position: position as unknown as JsonValue },
        tensors,
      },
      provenance: {
        data: {
          train: run.data,
          ...(run.val ? { val: run.val } : {}),
          ...(run.from ? { from: run.from } : {}),
        },
        config: { preset: run.preset, ...(session.config as unknown as JsonObject) },
        metrics,
      },
    });
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  return path.relative(session.runDir, dir);
}

async function loadBatch(session: Session, indices: readonly number[]): Promise<TrainBatch> {
  const size = session.config.model.inputSize;
  const images = session.set.dataset.images;
  const pixels = new Float32Array(indices.length * size * size * 3);
  for (const [k, i] of indices.entries()) {
    const face = await session.cache.get(images[i]!, size);
    // Horizontal flip with probability ½, as insightface's training augments.
    pixels.set(session.augment.next() < 0.5 ? flipHorizontal(face, size) : face, k * size * size * 3);
  }
  return {
    images: tf.tensor4d(pixels, [indices.length, size, size, 3]),
    labels: Int32Array.from(indices, (i) => session.set.labels[i]!),
    groups: Int32Array.from(indices, (i) => session.set.groupOf[i]!),
  };
}

/**
 * Per-group accuracy (%), Avg, STD and SER of the network as it is now on the validation set, as the
 * audit computes them for the epoch checkpoint (which holds these weights, in float32).
 */
async function validate(session: Session): Promise<JsonObject | null> {
  if (!session.val) return null;
  const { state, set, config } = session;
  const embedder = iresnetEmbedder({
    net: state.face,
    head: state.head,
    groups: set.dataset.groups,
    classCount: set.identities,
    margin: { kind: config.margin.kind, s: config.margin.scale, m: config.margin.margin },
    json: null,
    // The network goes on training: the embedder only borrows it.
    dispose: () => {},
  });
  // No embedding cache (the weights change every epoch), so no checkpoint folder keys one.
  const distances = await checkpointDistances(embedder, session.runDir, session.val, { cacheDir: null });
  const groups: JsonObject = {};
  const accuracies: number[] = [];
  for (const g of distances.groups) {
    const accuracy = 100 * verify({ distances: g.distances, same: g.same, folds: g.folds }).accuracy;
    groups[g.name] = accuracy;
    accuracies.push(accuracy);
  }
  const fairness = paperFairness(accuracies);
  return { groups, average: fairness.average, std: fairness.std, ser: fairness.ser };
}

function stepRecord(
  session: Session,
  metrics: StepMetrics,
  epoch: number,
  step: number,
  lr: number,
  seconds: number,
): Record<string, unknown> {
  const groupConfidence: Record<string, number> = {};
  session.set.dataset.groups.forEach((name, g) => {
    groupConfidence[name] = metrics.groupConfidence[g]!;
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

/** Frees the run's tensors (a run inside a longer-lived process, such as the app's worker or a test). */
function disposeState(state: TrainState): void {
  disposeParams(state.face.params);
  disposeParams(state.head.params);
  if (state.discriminator) disposeParams(state.discriminator.params);
  disposeSgd(state.faceOptimizer);
  if (state.discriminatorOptimizer) disposeSgd(state.discriminatorOptimizer);
}

/** The loop, then the tensors freed whatever happened. */
async function trainFrom(session: Session, start: Position, hooks: TrainHooks): Promise<TrainOutcome> {
  try {
    return await trainLoop(session, start, hooks);
  } finally {
    disposeState(session.state);
  }
}

/** The loop: from `position` to the last epoch, or until stopped or a non-finite loss. */
async function trainLoop(session: Session, start: Position, hooks: TrainHooks): Promise<TrainOutcome> {
  const { config, runDir } = session;
  const total = config.epochs * session.stepsPerEpoch;
  const log = (line: string) => {
    appendLog(runDir, line);
    hooks.onLog?.(line);
  };
  let lastCheckpoint = readRunStatus(runDir).checkpoint;
  let step = start.epoch * session.stepsPerEpoch + start.stepInEpoch;
  const status = (state: RunState, epoch: number, message: string) =>
    writeRunStatus(runDir, {
      state,
      epoch: epoch + 1,
      step,
      totalSteps: total,
      stepsPerEpoch: session.stepsPerEpoch,
      ...(lastCheckpoint ? { checkpoint: lastCheckpoint } : {}),
      message,
    });
  const finish = (state: Exclude<RunState, 'running'>, epoch: number, message: string): TrainOutcome => {
    status(state, epoch, message);
    log(message);
    return { state, message, runDir, ...(lastCheckpoint ? { checkpoint: lastCheckpoint } : {}) };
  };

  for (let epoch = start.epoch; epoch < config.epochs; epoch++) {
    const resumedHere = epoch === start.epoch && start.order !== null;
    const order = resumedHere
      ? start.order!
      : epochOrder(session.set.groupOf, session.set.dataset.groups.length, config.sampling, session.shuffle);
    const lr = learningRateAt(
      epoch,
      config.optimizer.learningRate,
      config.optimizer.milestones,
      config.optimizer.decay,
    );
    const first = epoch === start.epoch ? start.stepInEpoch : 0;
    if (first === 0) log(`epoch ${epoch + 1}/${config.epochs}: learning rate ${lr}`);
    const epochStarted = Date.now() - (epoch === start.epoch ? (start.epochSeconds ?? 0) * 1000 : 0);
    for (let k = first; k < session.stepsPerEpoch; k++) {
      const began = Date.now();
      const loaded = await loadBatch(session, order.slice(k * config.batchSize, (k + 1) * config.batchSize));
      const batch = hooks.onBatch?.(loaded, step + 1) ?? loaded;
      if (batch !== loaded) loaded.images.dispose();
      let metrics: StepMetrics;
      try {
        metrics = trainStep(session.state, batch, config, lr, session.set.dataset.groups.length);
      } catch (error) {
        if (error instanceof NonFiniteStepError) {
          const kept = lastCheckpoint
            ? `the last good checkpoint is ${lastCheckpoint}`
            : 'no checkpoint was saved yet';
          return finish(
            'failed',
            epoch,
            `step ${step + 1} (epoch ${epoch + 1}): ${error.message}. The run stopped; ${kept}. Lower the learning rate or check the data, then start again.`,
          );
        }
        throw error;
      } finally {
        batch.images.dispose();
      }
      step++;
      appendMetrics(runDir, stepRecord(session, metrics, epoch, step, lr, (Date.now() - began) / 1000));
      status('running', epoch, `epoch ${epoch + 1}, step ${k + 1}/${session.stepsPerEpoch}`);
      hooks.onProgress?.(step, total);
      const stopRequested = hooks.signal?.aborted === true || hooks.stopAfterStep === step;
      if (stopRequested && k + 1 < session.stepsPerEpoch) {
        lastCheckpoint = await saveResumePoint(
          session,
          `step-${step}.gabn`,
          {
            epoch,
            stepInEpoch: k + 1,
            order,
            shuffle: session.shuffle.state(),
            augment: session.augment.state(),
            mask: session.state.maskPrng.state(),
            epochSeconds: (Date.now() - epochStarted) / 1000,
          },
          {},
        );
        return finish(
          'stopped',
          epoch,
          `stopped after step ${step} of ${total}; saved ${lastCheckpoint}. Continue with: gabn train --resume ${runDir}`,
        );
      }
    }
    const name = `epoch-${epoch + 1}.gabn`;
    const position: Position = {
      epoch: epoch + 1,
      stepInEpoch: 0,
      order: null,
      shuffle: session.shuffle.state(),
      augment: session.augment.state(),
      mask: session.state.maskPrng.state(),
    };
    let validation: JsonObject | null;
    try {
      validation = await validate(session);
    } catch (error) {
      // The epoch's training is not lost to a failed validation.
      lastCheckpoint = await saveResumePoint(session, name, position, {});
      status('failed', epoch, `epoch ${epoch + 1} was saved as ${lastCheckpoint}, but its validation failed`);
      throw error;
    }
    // The checkpoint carries its own validation figures.
    lastCheckpoint = await saveResumePoint(session, name, position, validation ? { validation } : {});
    if (validation) {
      const groups = validation.groups as Record<string, number>;
      log(
        `epoch ${epoch + 1} validation: ${Object.entries(groups)
          .map(([g, a]) => `${g} ${a.toFixed(2)}%`)
          .join(
            ', ',
          )}; Avg ${(validation.average as number).toFixed(2)}, STD ${(validation.std as number).toFixed(2)}, SER ${(validation.ser as number).toFixed(2)}`,
      );
    }
    appendMetrics(runDir, {
      type: 'epoch',
      epoch: epoch + 1,
      step,
      seconds: (Date.now() - epochStarted) / 1000,
      checkpoint: lastCheckpoint,
      ...(validation ? { validation } : {}),
    });
    if (hooks.signal?.aborted || hooks.stopAfterStep === step) {
      if (epoch + 1 < config.epochs) {
        return finish(
          'stopped',
          epoch,
          `stopped after epoch ${epoch + 1} (step ${step} of ${total}); saved ${lastCheckpoint}. Continue with: gabn train --resume ${runDir}`,
        );
      }
    }
  }
  return finish(
    'completed',
    config.epochs - 1,
    `completed ${config.epochs} epochs (${total} steps); the final checkpoint is ${lastCheckpoint}`,
  );
}

function newState(config: TrainingConfig, groups: number, identities: number, face: IResNet): TrainState {
  const sgd = { momentum: config.optimizer.momentum, weightDecay: config.optimizer.weightDecay };
  return {
    face,
    head: createMarginHead(face.spec.embeddingSize, identities, config.seed + 1),
    ...(config.modules.gamCt
      ? {
          discriminator: createDiscriminator(groups, { width: config.discriminator.width }, config.seed + 2),
          discriminatorOptimizer: createSgd({
            momentum: config.discriminator.momentum,
            weightDecay: config.discriminator.weightDecay,
          }),
        }
      : {}),
    faceOptimizer: createSgd(sgd),
    maskPrng: createPrng(config.seed + 4),
  };
}

/** Starts a run in `request.out` (which must not hold one already) and trains it. */
export async function startRun(request: NewRun, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const runDir = path.resolve(request.out);
  const set = trainingSet(path.resolve(request.data));
  const val = request.val ? loadDataset(path.resolve(request.val)) : undefined;
  let config = request.config;
  let face: IResNet;
  let fromCheckpoint: Awaited<ReturnType<typeof loadCheckpoint>> | undefined;
  if (request.from) {
    fromCheckpoint = await loadCheckpoint(path.resolve(request.from));
    face = fromCheckpoint.model;
    const s = face.spec;
    // A fine-tune keeps the checkpoint's network, whatever the configuration's model says.
    config = {
      ...config,
      model: { depth: s.depth, width: s.width, inputSize: s.inputSize, embeddingSize: s.embeddingSize },
    };
  } else {
    const m = config.model;
    face = createIResNet(
      iresnetSpec({ depth: m.depth, width: m.width, inputSize: m.inputSize, embeddingSize: m.embeddingSize }),
      config.seed,
    );
  }
  const steps = stepsPerEpoch(set, config);
  let state = newState(config, set.dataset.groups.length, set.identities, face);
  if (fromCheckpoint?.head && fromCheckpoint.head.classes === set.identities) {
    state = { ...state, head: fromCheckpoint.head };
  }
  if (state.discriminator && fromCheckpoint?.discriminator?.spec.groups === set.dataset.groups.length) {
    state = { ...state, discriminator: fromCheckpoint.discriminator };
  }
  mkdirSync(path.join(runDir, 'checkpoints'), { recursive: true });
  const run: RunConfig = {
    kind: 'train',
    preset: request.preset,
    config,
    data: path.resolve(request.data),
    ...(request.val ? { val: path.resolve(request.val) } : {}),
    ...(request.from ? { from: path.resolve(request.from) } : {}),
    command: request.command,
    createdAt: new Date().toISOString(),
  };
  writeRunConfig(runDir, run);
  writeRunStatus(runDir, {
    state: 'running',
    epoch: 1,
    step: 0,
    totalSteps: config.epochs * steps,
    stepsPerEpoch: steps,
    message: 'starting',
  });
  const session: Session = {
    runDir,
    run,
    config,
    set,
    ...(val ? { val } : {}),
    state,
    shuffle: createPrng(config.seed + 3),
    augment: createPrng(config.seed + 5),
    stepsPerEpoch: steps,
    cache: new AlignedImageCache(),
  };
  appendLog(
    runDir,
    `preset ${request.preset}: ${set.dataset.images.length} images of ${set.identities} identities in ${set.dataset.groups.length} groups; ${steps} steps per epoch, ${config.epochs} epochs${request.from ? `; from ${request.from}` : ''}`,
  );
  return trainFrom(
    session,
    {
      epoch: 0,
      stepInEpoch: 0,
      order: null,
      shuffle: session.shuffle.state(),
      augment: session.augment.state(),
      mask: state.maskPrng.state(),
    },
    hooks,
  );
}

/** Continues a stopped (or interrupted) run from its last resume checkpoint. */
export async function resumeRun(runDir: string, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const dir = path.resolve(runDir);
  const run = readRunConfig(dir);
  const status = readRunStatus(dir);
  if (status.state === 'completed') {
    throw new GabnError('usage', `the run in ${dir} is already complete`, {
      expected: 'a stopped or failed run',
    });
  }
  if (!status.checkpoint) {
    throw new GabnError('usage', `the run in ${dir} has no checkpoint to resume from yet`, {
      file: path.join(dir, 'status.json'),
      expected: 'a run stopped after its first step, or after its first epoch',
    });
  }
  const config = run.config;
  const set = trainingSet(run.data);
  const val = run.val ? loadDataset(run.val) : undefined;
  const saved = await loadCheckpoint(path.join(dir, status.checkpoint));
  const position = (saved.optimizer?.state as { position?: Position } | undefined)?.position;
  if (!saved.head || !position) {
    throw new GabnError('checkpoint', 'this checkpoint holds no training position', {
      file: path.join(dir, status.checkpoint),
      expected: 'a resume checkpoint written by gabn train (with head and optimiser state)',
    });
  }
  const tensors = saved.optimizer!.tensors;
  const slots = (prefix: string) => {
    const out: Record<string, { shape: number[]; values: Float32Array }> = {};
    for (const [name, t] of Object.entries(tensors)) {
      if (name.startsWith(`${prefix}/`)) {
        out[name.slice(prefix.length + 1)] = { shape: t.shape, values: t.dataSync() as Float32Array };
      }
    }
    return out;
  };
  const state: TrainState = {
    face: saved.model,
    head: saved.head,
    ...(saved.discriminator
      ? {
          discriminator: saved.discriminator,
          discriminatorOptimizer: restoreSgd(
            { momentum: config.discriminator.momentum, weightDecay: config.discriminator.weightDecay },
            slots('discriminator'),
          ),
        }
      : {}),
    faceOptimizer: restoreSgd(
      { momentum: config.optimizer.momentum, weightDecay: config.optimizer.weightDecay },
      slots('face'),
    ),
    maskPrng: restorePrng(position.mask),
  };
  for (const t of Object.values(tensors)) t.dispose();
  const session: Session = {
    runDir: dir,
    run,
    config,
    set,
    ...(val ? { val } : {}),
    state,
    shuffle: restorePrng(position.shuffle),
    augment: restorePrng(position.augment),
    stepsPerEpoch: stepsPerEpoch(set, config),
    cache: new AlignedImageCache(),
  };
  const resumedStep = position.epoch * session.stepsPerEpoch + position.stepInEpoch;
  const dropped = truncateMetrics(dir, resumedStep);
  appendLog(
    dir,
    `resuming from ${status.checkpoint} (epoch ${position.epoch + 1}, step ${position.stepInEpoch} of it)${
      dropped > 0
        ? `; ${dropped} metrics line${dropped === 1 ? '' : 's'} recorded after step ${resumedStep} dropped, as those steps run again`
        : ''
    }`,
  );
  return trainFrom(session, position, hooks);
}
