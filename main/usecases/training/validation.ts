/**
 * Per-group accuracy (%), Avg, STD and SER of the network as it is now on the validation set, as the
 * audit computes them for the epoch checkpoint (which holds these weights, in float32).
 */
import type { Dataset } from '../../data/dataset.ts';
import { checkpointDistances } from '../../eval/embeddings.ts';
import { paperFairness } from '../../eval/fairness.ts';
import { verify } from '../../eval/verification.ts';
import type { TrainState } from '../../gabn/step/index.ts';
import type { TrainingConfig } from '../../gabn/training-config.ts';
import { type Embedder, iresnetEmbedder } from '../../models/embedder.ts';
import type { Validation } from './records.ts';
import type { TrainingSet } from './training-data.ts';

export type { Validation } from './records.ts';

/** The network in training as an embedder (eval mode), with its head: validation and the attention strip read it. */
export function liveEmbedder(state: TrainState, set: TrainingSet, config: TrainingConfig): Embedder {
  return iresnetEmbedder({
    net: state.face,
    head: state.head,
    groups: set.dataset.groups,
    classCount: set.identities,
    margin: config.margin,
    json: null,
    // The network goes on training: the embedder only borrows it.
    dispose: () => {},
  });
}

export async function validateNetwork(
  state: TrainState,
  set: TrainingSet,
  config: TrainingConfig,
  val: Dataset,
  runDir: string,
): Promise<Validation> {
  const embedder = liveEmbedder(state, set, config);
  // No embedding cache (the weights change every epoch), so no checkpoint folder keys one.
  const distances = await checkpointDistances(embedder, runDir, val, { cacheDir: null });
  const groups: Record<string, number> = {};
  const accuracies: number[] = [];
  for (const g of distances.groups) {
    const accuracy = 100 * verify({ distances: g.distances, same: g.same, folds: g.folds }).accuracy;
    groups[g.name] = accuracy;
    accuracies.push(accuracy);
  }
  return { groups, ...paperFairness(accuracies) };
}

export function describeValidation(epoch: number, v: Validation): string {
  const groups = Object.entries(v.groups)
    .map(([g, a]) => `${g} ${a.toFixed(2)}%`)
    .join(', ');
  return `epoch ${epoch} validation: ${groups}; Avg ${v.average.toFixed(2)}, STD ${v.std.toFixed(2)}, SER ${v.ser.toFixed(2)}`;
}
