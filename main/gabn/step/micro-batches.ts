/**
 * A logical batch larger than memory allows, trained as one: each network's gradient is accumulated
 * over micro-batches before its one update. L_conf and the group confidences are taken over the
 * whole batch; batch norm normalises each part with its own statistics and moves its running
 * estimates once per part (as gradient accumulation in PyTorch). The phases run apart, and the GAM
 * of each part is computed twice (once detached for the discriminator and the masks, once inside
 * the face network's graph).
 */
import { tf } from '../../engine/tf.ts';
import { confidenceBalanceLoss } from '../losses.ts';
import type { TrainingConfig } from '../training-config.ts';
import { type FaceGradients, faceGradientsReading, type Prepared, prepareStepReading } from './phases.ts';
import { type Reading, readNow } from './reads.ts';
import {
  checkBatch,
  disposeGradients,
  faceParams,
  type Gradients,
  meanConfidenceByGroup,
  type StepMetrics,
  saveStatistics,
  type TrainBatch,
  type TrainState,
} from './step-state.ts';
import { applyFaceUpdate, discriminatorGradients, updateDiscriminator } from './step-terms.ts';

/** A logical batch cut into micro-batches of at most `size` images (one part when size is 0 or ≥ N). */
export function microBatches(batch: TrainBatch, size: number): TrainBatch[] {
  const n = batch.images.shape[0];
  if (size <= 0 || size >= n) return [batch];
  const parts: TrainBatch[] = [];
  for (let start = 0; start < n; start += size) {
    const count = Math.min(size, n - start);
    parts.push({
      images: tf.slice(batch.images, [start, 0, 0, 0], [count, -1, -1, -1]),
      labels: batch.labels.subarray(start, start + count),
      groups: batch.groups.subarray(start, start + count),
    });
  }
  return parts;
}

/**
 * Gradients of the parts, averaged with weights (each part's share of the logical batch): the mean
 * loss over the batch has the size-weighted mean of the parts' gradients. One part: its own tensors.
 */
function* accumulate<T extends { grads: Gradients }>(
  parts: readonly { weight: number; compute: () => Reading<T> }[],
): Reading<{ results: T[]; grads: Gradients }> {
  if (parts.length === 1) {
    const result = yield* parts[0]!.compute();
    return { results: [result], grads: result.grads };
  }
  const sum: Gradients = {};
  const results: T[] = [];
  for (const { weight, compute } of parts) {
    const result = yield* compute();
    for (const [name, g] of Object.entries(result.grads)) {
      const previous = sum[name];
      sum[name] = tf.tidy(() => (previous ? tf.add(previous, tf.mul(g, weight)) : tf.mul(g, weight)));
      previous?.dispose();
    }
    disposeGradients(result.grads);
    results.push(result);
  }
  return { results, grads: sum };
}

function weighted(values: readonly number[], weights: readonly number[]): number {
  return values.reduce((total, v, i) => total + v * weights[i]!, 0);
}

/** trainStep over micro-batches on a backend that reads synchronously. */
export function phasedStep(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
  microBatchSize: number,
): StepMetrics {
  return readNow(phasedStepReading(state, batch, config, learningRate, groupCount, microBatchSize));
}

/**
 * trainStep over micro-batches: the phases one after another, each over every part. Every value is
 * read between phases, so this is also the step of backends that cannot read inside a tape (webgpu),
 * with a single part where the batch fits.
 */
export function* phasedStepReading(
  state: TrainState,
  batch: TrainBatch,
  config: TrainingConfig,
  learningRate: number,
  groupCount: number,
  microBatchSize: number,
): Reading<StepMetrics> {
  checkBatch(state, batch, config.modules.gamCt);
  const n = batch.images.shape[0];
  const parts = microBatches(batch, microBatchSize);
  const weights = parts.map((part) => part.images.shape[0] / n);
  const prepared: Prepared[] = [];
  try {
    for (const part of parts) prepared.push(yield* prepareStepReading(state, part, config, groupCount));
    const pMax = new Float32Array(n);
    let offset = 0;
    for (const p of prepared) {
      pMax.set(p.pMax, offset);
      offset += p.pMax.length;
    }
    const confidenceLoss = config.modules.confidenceBalance
      ? confidenceBalanceLoss(pMax, config.confidence.threshold)
      : 0;
    const contexts = prepared.map((p) => ({ ...p.context, confidenceLoss }));

    let discriminator: { loss: number; accuracy: number } | null = null;
    if (config.modules.gamCt) {
      const { results, grads } = yield* accumulate(
        parts.map((part, k) => ({
          weight: weights[k]!,
          compute: () => discriminatorGradients(state, prepared[k]!.gam!, part.groups),
        })),
      );
      updateDiscriminator(state, grads, config, learningRate);
      discriminator = {
        loss: weighted(
          results.map((r) => r.loss),
          weights,
        ),
        accuracy: weighted(
          results.map((r) => r.accuracy),
          weights,
        ),
      };
    }

    const statistics = saveStatistics(state);
    let accumulated: { results: FaceGradients[]; grads: Gradients };
    try {
      accumulated = yield* accumulate(
        parts.map((part, k) => ({
          weight: weights[k]!,
          compute: () => faceGradientsReading(state, part, contexts[k]!, config, groupCount),
        })),
      );
    } catch (error) {
      statistics.restore();
      statistics.dispose();
      throw error;
    }
    const { results, grads } = accumulated;
    const loss = weighted(
      results.map((r) => r.loss),
      weights,
    );
    yield* applyFaceUpdate(state, faceParams(state), loss, grads, learningRate, statistics);
    const adversarial = results.map((r) => r.adversarialLoss);
    return {
      loss,
      identityLoss: weighted(
        results.map((r) => r.identityLoss),
        weights,
      ),
      adversarialLoss: adversarial.includes(null) ? null : weighted(adversarial as number[], weights),
      discriminatorLoss: discriminator?.loss ?? null,
      discriminatorAccuracy: discriminator?.accuracy ?? null,
      confidenceLoss,
      groupConfidence: meanConfidenceByGroup(pMax, batch.groups, groupCount),
    };
  } finally {
    prepared.forEach((p, k) => {
      p.gam?.dispose();
      if (p.context.identityImages !== parts[k]!.images) p.context.identityImages.dispose();
    });
    for (const part of parts) if (part !== batch) part.images.dispose();
  }
}
