/**
 * Runs the small network on the fixture of tests/golden/second_order.py and measures, per tensor, the
 * relative error ‖tfjs − torch‖₂ / ‖torch‖₂ of every value and gradient the fixture holds.
 */
import { tf } from '../../main/engine/tf.ts';
import { gamObjective } from '../../main/gabn/gam.ts';
import { type FlatArray, readFixture, relativeError, toTensor } from './fixture.ts';
import {
  type BatchNormVariant,
  type ChainVariant,
  cosines,
  embed,
  gamChain,
  objectiveT,
  type Params,
} from './small-network.ts';

// Tolerances on ‖tfjs − torch‖₂ / ‖torch‖₂ per tensor. tfjs computes in float32 (unit roundoff 6e-8)
// against a float64 reference; every op adds a few 1e-7 relative, and ten layers of convolution and
// training-mode batch norm (which divides by batch deviations), s = 16 in the softmax, double backprop
// (the chain runs forward, then for ∂T/∂x, then for ∂L_adv/∂θ) and the division by the GAM maximum
// amplify that. Measured: ≤ 6e-6 first order, ≤ 9e-6 second order (both backends, both batch-norm
// forms). 1e-4 leaves a tenfold margin for other CPUs and summation orders; a wrong op, layout or a
// lost second-order path is O(1e-1..1) (the uncorrected run shows it).
export const FIRST_ORDER_RTOL = 1e-4;
export const SECOND_ORDER_RTOL = 1e-4;

export interface SecondOrderFixture {
  config: { s: number; bnEpsilon: number; normaliseEpsilon: number; seed: number };
  trainable: string[];
  input: FlatArray;
  params: Record<string, FlatArray>;
  embedding: FlatArray;
  cos: FlatArray;
  P: FlatArray;
  T: number;
  dTdx: FlatArray;
  gam: FlatArray;
  gamNormalised: FlatArray;
  logits: FlatArray;
  lAdv: number;
  gradT: Record<string, FlatArray>;
  gradLAdv: Record<string, FlatArray>;
}

export const fixture = readFixture<SecondOrderFixture>('second_order.json');

/** Relative errors keyed 'T', 'dTdx', 'dT/d conv1.weight', 'dLadv/d input', ... */
export type Errors = Record<string, number>;

function setup(): { params: Params; variables: Record<string, tf.Variable>; x: tf.Variable } {
  const variables: Record<string, tf.Variable> = {};
  const params: Params = {};
  for (const [name, a] of Object.entries(fixture.params)) {
    const t = toTensor(a);
    if (fixture.trainable.includes(name)) {
      variables[name] = tf.variable(t);
      params[name] = variables[name]!;
      t.dispose();
    } else params[name] = t;
  }
  const input = toTensor(fixture.input);
  const x = tf.variable(input);
  input.dispose();
  return { params, variables, x };
}

/** Forward values, T, ∂T/∂x, the GAM and the first-order weight gradients ∂T/∂θ. */
export async function firstOrderErrors(
  variant: BatchNormVariant,
  chainVariant: ChainVariant = 'ops',
): Promise<Errors> {
  const { params, variables, x } = setup();
  const c = fixture.config;
  const errors: Errors = {};
  const kept: tf.Tensor[] = [];
  const names = Object.keys(fixture.gradT);
  const { value, grads } = tf.variableGrads(
    () => {
      const e = embed(params, x, c, variant);
      const cos = cosines(params, e);
      const prob = tf.softmax(tf.mul(cos, c.s));
      kept.push(tf.keep(e), tf.keep(cos), tf.keep(prob));
      if (chainVariant === 'gabn')
        return gamObjective(e, { weight: params['head.weight'] as tf.Tensor2D }, c.s);
      return objectiveT(cos, c.s);
    },
    names.map((n) => variables[n]!),
  );
  errors.embedding = relativeError(await kept[0]!.data(), fixture.embedding);
  errors.cos = relativeError(await kept[1]!.data(), fixture.cos);
  errors.P = relativeError(await kept[2]!.data(), fixture.P);
  errors.T = relativeError(await value.data(), fixture.T);
  for (const n of names)
    errors[`dT/d ${n}`] = relativeError(await grads[variables[n]!.name]!.data(), fixture.gradT[n]!);
  const chain = tf.tidy(() => {
    const r = gamChain(params, x, c, variant, chainVariant);
    return { dTdx: r.dTdx, gam: r.gam };
  });
  errors.dTdx = relativeError(await chain.dTdx.data(), fixture.dTdx);
  errors.gam = relativeError(await chain.gam.data(), fixture.gam);
  tf.dispose([chain.dTdx, chain.gam]);
  tf.dispose([...kept, value, x, ...Object.values(grads), ...Object.values(params)]);
  return errors;
}

/** L_adv and ∂L_adv/∂θ for every weight and the input: double backprop through ∂T/∂x. */
export async function secondOrderErrors(
  variant: BatchNormVariant,
  chainVariant: ChainVariant = 'ops',
): Promise<Errors> {
  const { params, variables, x } = setup();
  const errors: Errors = {};
  const captured: Record<string, tf.Tensor> = {};
  const names = Object.keys(fixture.gradLAdv);
  const targets = names.map((n) => (n === 'input' ? x : variables[n]!));
  try {
    const { value, grads } = tf.variableGrads(() => {
      const r = gamChain(params, x, fixture.config, variant, chainVariant);
      captured.gamNormalised = tf.keep(r.gamNormalised);
      captured.logits = tf.keep(r.logits);
      captured.T = tf.keep(r.T);
      return r.lAdv;
    }, targets);
    errors.gamNormalised = relativeError(await captured.gamNormalised!.data(), fixture.gamNormalised);
    errors.logits = relativeError(await captured.logits!.data(), fixture.logits);
    errors.T = relativeError(await captured.T!.data(), fixture.T);
    errors.lAdv = relativeError(await value.data(), fixture.lAdv);
    for (const [i, n] of names.entries()) {
      errors[`dLadv/d ${n}`] = relativeError(await grads[targets[i]!.name]!.data(), fixture.gradLAdv[n]!);
    }
    tf.dispose([value, ...Object.values(grads)]);
  } finally {
    tf.dispose([x, ...Object.values(captured), ...Object.values(params)]);
  }
  return errors;
}

export function worst(errors: Errors, filter: (key: string) => boolean = () => true): [string, number] {
  let best: [string, number] = ['', 0];
  for (const [k, v] of Object.entries(errors)) if (filter(k) && !(v <= best[1])) best = [k, v];
  return best;
}
