/**
 * The checkpoint in memory and its files' names (DESIGN.md §4, docs/checkpoints.md): what
 * checkpoint-write.ts writes and checkpoint.ts reads back.
 */
import type { tf } from '../engine/tf.ts';
import type { CheckpointJson, JsonObject, JsonValue } from './checkpoint-schema.ts';
import type { Discriminator } from './discriminator.ts';
import type { IResNet } from './iresnet.ts';
import type { MarginHead, MarginOptions } from './margin-head.ts';

export const WEIGHTS_FILE = 'weights.bin';
export const HEAD_FILE = 'head.bin';
export const DISCRIMINATOR_FILE = 'discriminator.bin';
export const OPTIMIZER_FILE = 'optimizer.bin';

export interface ProvenanceInput {
  readonly data?: JsonObject;
  readonly config?: JsonObject;
  readonly metrics?: JsonObject;
  /** Defaults to the time of saving. */
  readonly createdAt?: string;
}

export interface OptimizerState {
  /** Everything that is not a tensor (kind, learning rate, step, epoch, RNG state...). */
  readonly state: JsonValue;
  /** Slot tensors by name, e.g. `momentum/layer1.0.conv1.weight`. */
  readonly tensors: Record<string, tf.Tensor>;
}

/** A checkpoint in memory. */
export interface Checkpoint {
  readonly model: IResNet;
  /** Demographic group names, in the discriminator's output order. */
  readonly groups: readonly string[];
  /** Identities of the training set (the head's classes). */
  readonly classCount: number;
  readonly provenance: ProvenanceInput;
  readonly head?: MarginHead;
  /** The margin the head was trained with (default: the paper's ArcFace s = 64, m = 0.35). */
  readonly margin?: MarginOptions;
  readonly discriminator?: Discriminator;
  readonly optimizer?: OptimizerState;
}

/** A loaded checkpoint: the written description plus live tensors. */
export interface LoadedCheckpoint extends Checkpoint {
  readonly json: CheckpointJson;
}

export interface SaveOptions {
  /** float16 halves the files; values are rounded to nearest-even (max relative error 2^-11). */
  readonly storage?: 'float32' | 'float16';
}
