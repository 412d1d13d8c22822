/**
 * Everything a run's first step needs, from its parameters: the training set, the validation set,
 * the network (new, or a checkpoint's for a fine-tune), a head and a discriminator, the optimisers.
 * A run starting from its beginning and the time-per-epoch estimate build it alike.
 */
import type { Dataset } from '../../data/dataset.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import type { TrainingConfig } from '../../gabn/training-config.ts';
import { loadCheckpoint } from '../../models/checkpoint.ts';
import { createIResNet, type IResNet } from '../../models/iresnet.ts';
import { iresnetSpec } from '../../models/iresnet-spec.ts';
import { disposeParams } from '../../models/parameters.ts';
import { faceSeed, newRunState, type TrainingState } from './resume-point.ts';
import type { TrainingParams } from './session.ts';
import { loadTrainingSet, stepsPerEpoch, type TrainingSet } from './training-data.ts';

export interface InitialState {
  readonly set: TrainingSet;
  readonly val?: Dataset;
  /** The configuration the run trains with: a fine-tune's network is its checkpoint's. */
  readonly config: TrainingConfig;
  readonly steps: number;
  readonly state: TrainingState;
}

export async function initialState(params: TrainingParams, withValidation = true): Promise<InitialState> {
  const set = loadTrainingSet(params.data);
  const val = withValidation && params.val ? loadDataset(params.val) : undefined;
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
  return { set, ...(val ? { val } : {}), config, steps, state };
}
