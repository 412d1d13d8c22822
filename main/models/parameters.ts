/**
 * Networks keep their weights as tf.Variables in one flat map whose keys are PyTorch state_dict keys
 * (`conv1.weight`, `layer1.0.bn1.running_mean`, ...), so a converted insightface or torchvision
 * checkpoint maps name for name. Layouts are tfjs's: convolution kernels HWIO, linear weights
 * [in, out]. A layout lists every tensor with its shape and initialiser, in creation order.
 */

import { createPrng, normalArray, type Prng, uniformArray } from '../base/random.ts';
import { tf } from '../engine/tf.ts';

export type ParamMap = Record<string, tf.Variable>;

export type Initialiser =
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'constant'; readonly value: number };

export interface TensorLayout {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Initialiser;
  /** False for BN running statistics and for the frozen BN1d scale (`features.weight`). */
  readonly trainable: boolean;
  /** True for running statistics: PyTorch buffers, not parameters (they do not count as parameters). */
  readonly buffer: boolean;
}

/**
 * PyTorch's default for nn.Conv2d and nn.Linear weights: kaiming_uniform_(a = √5), which is
 * U(-1/√fanIn, 1/√fanIn) (gain √(2/(1+5)) times √(3/fanIn)). Biases use the same bound.
 */
export function pytorchDefaultBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}

/** A learnable tensor with PyTorch's default initialisation for a layer with this fan-in. */
export function kaimingUniform(name: string, shape: readonly number[], fanIn: number): TensorLayout {
  return {
    name,
    shape,
    init: { kind: 'uniform', bound: pytorchDefaultBound(fanIn) },
    trainable: true,
    buffer: false,
  };
}

export function constant(
  name: string,
  shape: readonly number[],
  value: number,
  trainable = true,
): TensorLayout {
  return { name, shape, init: { kind: 'constant', value }, trainable, buffer: false };
}

/** BatchNorm2d/1d: weight 1, bias 0 (learnable), running mean 0 and variance 1 (buffers). */
export function batchNormLayout(prefix: string, channels: number, scaleTrainable = true): TensorLayout[] {
  return [
    constant(`${prefix}.weight`, [channels], 1, scaleTrainable),
    constant(`${prefix}.bias`, [channels], 0),
    { ...constant(`${prefix}.running_mean`, [channels], 0, false), buffer: true },
    { ...constant(`${prefix}.running_var`, [channels], 1, false), buffer: true },
  ];
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Number of PyTorch parameters (buffers excluded, frozen parameters included), as sum(p.numel()). */
export function parameterCount(layout: readonly TensorLayout[]): number {
  return layout.filter((t) => !t.buffer).reduce((sum, t) => sum + sizeOf(t.shape), 0);
}

/** Draws every tensor of a layout, in order, from one seeded stream. */
export function createParams(layout: readonly TensorLayout[], seed: number): ParamMap {
  const random = createPrng(seed);
  const params: ParamMap = {};
  for (const entry of layout) {
    const values = initialValues(entry, random);
    params[entry.name] = tf.variable(
      tf.tensor(values, [...entry.shape], 'float32'),
      entry.trainable,
      uniqueName(entry.name),
    );
  }
  return params;
}

/** Wraps loaded values as variables with the trainability the layout prescribes. */
export function paramsFromValues(
  layout: readonly TensorLayout[],
  values: ReadonlyMap<string, Float32Array>,
): ParamMap {
  const params: ParamMap = {};
  for (const entry of layout) {
    const data = values.get(entry.name);
    if (data === undefined) throw new Error(`no values for ${entry.name}`);
    params[entry.name] = tf.variable(
      tf.tensor(data, [...entry.shape], 'float32'),
      entry.trainable,
      uniqueName(entry.name),
    );
  }
  return params;
}

function initialValues(entry: TensorLayout, random: Prng): Float32Array {
  const size = sizeOf(entry.shape);
  switch (entry.init.kind) {
    case 'uniform':
      return uniformArray(random, size, entry.init.bound);
    case 'normal':
      return normalArray(random, size, entry.init.std);
    case 'constant':
      return new Float32Array(size).fill(entry.init.value);
  }
}

// tfjs variable names are global to the engine: two models must not collide.
let counter = 0;
function uniqueName(name: string): string {
  counter++;
  return `${name}#${counter}`;
}

/** Frees every variable of a map. */
export function disposeParams(params: ParamMap): void {
  for (const v of Object.values(params)) v.dispose();
}

/** The variables an optimiser updates (BN running statistics and the frozen BN1d scale excluded). */
export function trainableVariables(params: ParamMap): tf.Variable[] {
  return Object.values(params).filter((v) => v.trainable);
}
