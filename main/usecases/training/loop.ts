/**
 * The training loop of Algorithm 1, epoch by epoch: each epoch visits the training images in an order
 * drawn from the run's seed, takes one step per batch (main/gabn/step), records it, and ends with an
 * epoch checkpoint carrying the validation figures. A stop request (Ctrl-C, SIGTERM, the app's Stop)
 * ends the loop after the current step with a resume point; a non-finite loss ends it with the last
 * good checkpoint kept.
 */
import { nextTurn } from '../../base/event-loop.ts';
import { learningRateAt } from '../../gabn/optimizer.ts';
import { epochOrder } from '../../gabn/sampler.ts';
import { NonFiniteStepError, type StepMetrics, trainStepAsync } from '../../gabn/step/index.ts';
import type { JsonObject } from '../../models/checkpoint-schema.ts';
import type { RunState } from '../../runs/run-folder.ts';
import { recordAttentionStrip } from './attention-strip.ts';
import { describeMechanisms, measureRunMechanisms } from './mechanisms.ts';
import { type Position, saveResumePoint } from './resume-point.ts';
import {
  log,
  provenanceData,
  recordMetrics,
  recordStatus,
  stepRecord,
  type TrainingSession,
  totalSteps,
} from './session.ts';
import { loadBatch } from './training-data.ts';
import { describeValidation, type Validation, validateNetwork } from './validation.ts';

export type FinalState = Extract<RunState, 'succeeded' | 'stopped' | 'interrupted' | 'failed'>;

export interface TrainOutcome {
  readonly state: FinalState;
  readonly message: string;
  readonly runDir: string;
  /** The last good checkpoint, relative to the run folder, when there is one. */
  readonly checkpoint?: string;
}

export async function trainLoop(
  session: TrainingSession,
  start: Position,
  lastCheckpoint: string | undefined,
): Promise<TrainOutcome> {
  const { config, state, set, hooks, runDir } = session;
  const total = totalSteps(session);
  let step = start.epoch * session.stepsPerEpoch + start.stepInEpoch;
  let checkpoint = lastCheckpoint;
  const status = (runState: RunState, epoch: number, message: string) =>
    recordStatus(session, runState, { epoch: epoch + 1, step, checkpoint }, message);
  const finish = (final: FinalState, epoch: number, message: string): TrainOutcome => {
    status(final, epoch, message);
    log(session, message);
    return { state: final, message, runDir, ...(checkpoint ? { checkpoint } : {}) };
  };
  const resumePoint = (name: string, position: Position, metrics: JsonObject) =>
    saveResumePoint({
      runDir,
      name,
      state: state.train,
      set,
      config,
      position,
      preset: session.params.preset,
      data: provenanceData(session.params),
      metrics,
    });
  const stopRequested = () => hooks.signal?.aborted === true || hooks.stopAfterStep === step;
  /** A stop saved its resume point: a person asked (stopped), or the app closed under the run (interrupted). */
  const stopped = (epoch: number, where: string): TrainOutcome => {
    const final = hooks.signal?.aborted ? (hooks.stopState?.() ?? 'stopped') : 'stopped';
    const what = final === 'interrupted' ? 'interrupted (the app closed)' : 'stopped';
    return finish(
      final,
      epoch,
      `${what} ${where}; saved ${checkpoint}. Continue with: gabn train --resume ${runDir}`,
    );
  };

  // The probe set's attention before the first step: what the epochs' strips are compared with.
  if (start.epoch === 0 && start.stepInEpoch === 0) await recordAttentionStrip(session, 0);

  for (let epoch = start.epoch; epoch < config.epochs; epoch++) {
    const resumedHere = epoch === start.epoch && start.order !== null;
    const order = resumedHere
      ? start.order!
      : epochOrder(set.groupOf, set.dataset.groups.length, config.sampling, state.shuffle);
    const { learningRate, milestones, decay } = config.optimizer;
    const lr = learningRateAt(epoch, learningRate, milestones, decay);
    const first = epoch === start.epoch ? start.stepInEpoch : 0;
    if (first === 0) log(session, `epoch ${epoch + 1}/${config.epochs}: learning rate ${lr}`);
    const epochStarted = Date.now() - (epoch === start.epoch ? (start.epochSeconds ?? 0) * 1000 : 0);

    for (let k = first; k < session.stepsPerEpoch; k++) {
      const began = Date.now();
      const indices = order.slice(k * config.batchSize, (k + 1) * config.batchSize);
      const loaded = await loadBatch(set, indices, config.model.inputSize, session.cache, state.augment);
      const batch = hooks.onBatch?.(loaded, step + 1) ?? loaded;
      if (batch !== loaded) loaded.images.dispose();
      let metrics: StepMetrics;
      try {
        metrics = await trainStepAsync(state.train, batch, config, lr, set.dataset.groups.length);
      } catch (error) {
        if (!(error instanceof NonFiniteStepError)) throw error;
        const kept = checkpoint ? `the last good checkpoint is ${checkpoint}` : 'no checkpoint was saved yet';
        return finish(
          'failed',
          epoch,
          `step ${step + 1} (epoch ${epoch + 1}): ${error.message}. The run stopped; ${kept}. Lower the learning rate or check the data, then start again.`,
        );
      } finally {
        batch.images.dispose();
      }
      step++;
      recordMetrics(session, stepRecord(session, metrics, epoch, step, lr, (Date.now() - began) / 1000));
      status('running', epoch, `epoch ${epoch + 1}, step ${k + 1}/${session.stepsPerEpoch}`);
      hooks.onProgress?.(step, total);
      // A turn for Ctrl-C and the app's Stop: with the images cached, nothing else here yields.
      await nextTurn();
      if (stopRequested() && k + 1 < session.stepsPerEpoch) {
        checkpoint = await resumePoint(
          `step-${step}.gabn`,
          {
            epoch,
            stepInEpoch: k + 1,
            order,
            shuffle: state.shuffle.state(),
            augment: state.augment.state(),
            mask: state.train.maskPrng.state(),
            epochSeconds: (Date.now() - epochStarted) / 1000,
          },
          {},
        );
        return stopped(epoch, `after step ${step} of ${total}`);
      }
    }

    const name = `epoch-${epoch + 1}.gabn`;
    const position: Position = {
      epoch: epoch + 1,
      stepInEpoch: 0,
      order: null,
      shuffle: state.shuffle.state(),
      augment: state.augment.state(),
      mask: state.train.maskPrng.state(),
    };
    let validation: Validation | null = null;
    try {
      if (session.val) validation = await validateNetwork(state.train, set, config, session.val, runDir);
    } catch (error) {
      // The epoch's training is not lost to a failed validation.
      checkpoint = await resumePoint(name, position, {});
      status('failed', epoch, `epoch ${epoch + 1} was saved as ${checkpoint}, but its validation failed`);
      throw error;
    }
    // Measured before the checkpoint is written, on the weights it holds; it carries them too.
    const mechanisms = await measureRunMechanisms(session, epoch + 1);
    // The checkpoint carries its own validation figures.
    checkpoint = await resumePoint(name, position, {
      ...(validation ? { validation: { ...validation } } : {}),
      // Plain JSON already: numbers, nulls and records of them.
      ...(mechanisms ? { mechanisms: mechanisms as unknown as JsonObject } : {}),
    });
    if (validation) log(session, describeValidation(epoch + 1, validation));
    if (mechanisms) log(session, `epoch ${epoch + 1} mechanisms: ${describeMechanisms(mechanisms)}`);
    await recordAttentionStrip(session, epoch + 1);
    recordMetrics(session, {
      type: 'epoch',
      epoch: epoch + 1,
      step,
      seconds: (Date.now() - epochStarted) / 1000,
      checkpoint,
      ...(validation ? { validation } : {}),
      ...(mechanisms ? { mechanisms } : {}),
    });
    if (stopRequested() && epoch + 1 < config.epochs) {
      return stopped(epoch, `after epoch ${epoch + 1} (step ${step} of ${total})`);
    }
  }
  return finish(
    'succeeded',
    config.epochs - 1,
    `completed ${config.epochs} epochs (${total} steps); the final checkpoint is ${checkpoint}`,
  );
}
