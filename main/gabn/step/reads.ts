/**
 * Reading values on the way through a step, on any backend. cpu, wasm and native TensorFlow read a
 * tensor synchronously (`dataSync`); webgpu cannot (in Node `dataSync` throws, and elsewhere it
 * stalls the GPU): its reads are awaited. A phase that reads is written once, as a generator that
 * yields each tensor it must read and receives its values; `readNow` drives it synchronously (the
 * step's values exactly as before), `readAwaited` with `await data()`. A yielded tensor is consumed:
 * the driver disposes it once read (yield `tf.clone(t)` to keep `t`; a clone shares the data).
 *
 * A read cannot happen inside a gradient tape on webgpu (tapes are synchronous): such phases keep the
 * tensors they need (`tf.keep`) and yield them after the tape.
 */
import { GabnError } from '../../base/errors.ts';
import { tf } from '../../engine/tf.ts';
import { readsSynchronously } from '../../engine/webgpu.ts';

export type Values = Float32Array | Int32Array | Uint8Array;

/** A computation that reads tensors as it goes and returns a T. */
export type Reading<T> = Generator<tf.Tensor, T, Values>;

/** Refuses synchronous reads where the backend has none (a bug: that path must be awaited). */
export function requireSynchronousReads(what: string): void {
  if (!readsSynchronously()) {
    throw new GabnError(
      'internal',
      `${what} reads tensors synchronously, which the ${tf.getBackend()} backend cannot`,
    );
  }
}

/** Runs `steps`, reading each yielded tensor with dataSync. */
export function readNow<T>(steps: Reading<T>): T {
  requireSynchronousReads('this step');
  let next = steps.next();
  while (!next.done) {
    const tensor = next.value;
    let values: Values;
    try {
      values = tensor.dataSync() as Values;
    } catch (error) {
      tensor.dispose();
      next = steps.throw(error);
      continue;
    }
    tensor.dispose();
    next = steps.next(values);
  }
  return next.value;
}

/** Runs `steps`, awaiting each yielded tensor's data(). */
export async function readAwaited<T>(steps: Reading<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    const tensor = next.value;
    let values: Values;
    try {
      values = (await tensor.data()) as Values;
    } catch (error) {
      tensor.dispose();
      next = steps.throw(error);
      continue;
    }
    tensor.dispose();
    next = steps.next(values);
  }
  return next.value;
}

/** Several scalars in one read (one round trip to the device); null stays null. Consumes them. */
export function* readScalars(...scalars: (tf.Scalar | null)[]): Reading<(number | null)[]> {
  const present = scalars.filter((s): s is tf.Scalar => s !== null);
  if (present.length === 0) return scalars.map(() => null);
  const stacked = tf.stack(present);
  for (const s of present) s.dispose();
  const values = yield stacked;
  let k = 0;
  return scalars.map((s) => (s === null ? null : values[k++]!));
}

/** Whether every gradient is finite, in one read. */
export function* gradientsFinite(grads: Record<string, tf.Tensor>): Reading<boolean> {
  const tensors = Object.values(grads);
  if (tensors.length === 0) return true;
  const flags = yield tf.tidy(() => tf.stack(tensors.map((g) => tf.all(tf.isFinite(g)))));
  return flags.every((flag) => flag === 1);
}
