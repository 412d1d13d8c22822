/**
 * SGD with momentum and weight decay, with PyTorch's semantics (torch.optim.SGD, dampening 0,
 * no Nesterov), so runs follow the paper's optimiser step for step:
 *   g ← ∇ + λ·p;   b ← g on the first step, else μ·b + g;   p ← p − lr·b
 * and the step schedule of torch.optim.lr_scheduler.MultiStepLR.
 */
import { tf } from '../engine/tf.ts';

export interface SgdSettings {
  readonly momentum: number;
  readonly weightDecay: number;
}

export interface Sgd {
  readonly settings: SgdSettings;
  /** Momentum buffers by parameter name; absent before a parameter's first step. */
  readonly buffers: Map<string, tf.Variable>;
}

export function createSgd(settings: SgdSettings): Sgd {
  return { settings, buffers: new Map() };
}

/**
 * One update of every parameter that has a gradient. Parameters without one (frozen, or not reached
 * this step) are left alone, as PyTorch skips parameters whose .grad is None.
 */
export function sgdStep(
  optimizer: Sgd,
  params: Readonly<Record<string, tf.Variable>>,
  grads: Readonly<Record<string, tf.Tensor>>,
  learningRate: number,
): void {
  const { momentum, weightDecay } = optimizer.settings;
  tf.tidy(() => {
    for (const [name, param] of Object.entries(params)) {
      const grad = grads[name];
      if (grad === undefined) continue;
      const decayed = weightDecay === 0 ? grad : tf.add(grad, tf.mul(param, weightDecay));
      let direction: tf.Tensor = decayed;
      if (momentum !== 0) {
        const buffer = optimizer.buffers.get(name);
        if (buffer === undefined) {
          optimizer.buffers.set(name, tf.variable(decayed, false, `${param.name}/momentum`));
        } else {
          buffer.assign(tf.add(tf.mul(buffer, momentum), decayed));
          direction = buffer;
        }
      }
      param.assign(tf.sub(param, tf.mul(direction, learningRate)));
    }
  });
}

/** MultiStepLR: the base rate times decay^(number of milestones ≤ epoch); epochs count from 0. */
export function learningRateAt(
  epoch: number,
  base: number,
  milestones: readonly number[],
  decay: number,
): number {
  const passed = milestones.filter((m) => epoch >= m).length;
  return base * decay ** passed;
}

/** The optimiser state for a checkpoint: buffers as plain arrays with their shapes (read awaited: GPU buffers). */
export async function sgdState(
  optimizer: Sgd,
): Promise<Record<string, { shape: number[]; values: Float32Array }>> {
  const state: Record<string, { shape: number[]; values: Float32Array }> = {};
  for (const [name, buffer] of optimizer.buffers)
    state[name] = { shape: buffer.shape, values: (await buffer.data()) as Float32Array };
  return state;
}

export function restoreSgd(
  settings: SgdSettings,
  state: Readonly<Record<string, { shape: number[]; values: Float32Array }>>,
): Sgd {
  const optimizer = createSgd(settings);
  for (const [name, { shape, values }] of Object.entries(state)) {
    // Unnamed: tfjs names must be unique in the process, and the face network and the discriminator
    // both have a 'conv1.weight'.
    const initial = tf.tensor(values, shape);
    optimizer.buffers.set(name, tf.variable(initial, false));
    initial.dispose();
  }
  return optimizer;
}

export function disposeSgd(optimizer: Sgd): void {
  for (const buffer of optimizer.buffers.values()) buffer.dispose();
  optimizer.buffers.clear();
}
