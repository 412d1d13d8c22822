/**
 * A step on the GPU must fit the adapter's buffers. tfjs-backend-webgpu keeps every tensor in one GPU
 * buffer, bound whole to each shader that reads it, so no tensor may be larger than
 * maxStorageBufferBindingSize, nor than maxBufferSize. A step's largest tensors grow with the number
 * of images it works on at once (the face network's widest activation, the discriminator's, and
 * their gradients, all of one size); the parameters, their gradients and momentum do not. The
 * micro-batch is the configured one (or the whole batch), made smaller until its largest tensor fits;
 * where even one image or one parameter cannot fit, the step cannot run on this GPU and says so.
 */
import { GabnError } from '../../base/errors.ts';
import type { GpuLimits } from '../../engine/webgpu.ts';
import { largestDiscriminatorActivation } from '../../models/discriminator.ts';
import { largestActivation } from '../../models/iresnet.ts';
import { specName } from '../../models/iresnet-spec.ts';
import type { TrainState } from './step-state.ts';

const FLOAT_BYTES = 4;

function mib(bytes: number): string {
  return `${Number((bytes / 2 ** 20).toFixed(1))} MiB`;
}

/** The bytes of one image's largest tensor in a step (face network or discriminator). */
export function largestTensorPerImage(state: TrainState): number {
  const face = largestActivation(state.face.spec);
  const d = state.discriminator
    ? largestDiscriminatorActivation(state.discriminator.spec, state.face.spec.inputSize)
    : 0;
  return FLOAT_BYTES * Math.max(face, d);
}

function largestParameter(state: TrainState): { name: string; bytes: number } {
  let largest = { name: '', bytes: 0 };
  const groups = [
    ['', state.face.params],
    ['head.', state.head.params],
    ['discriminator.', state.discriminator?.params ?? {}],
  ] as const;
  for (const [prefix, params] of groups) {
    for (const [name, v] of Object.entries(params)) {
      const bytes = FLOAT_BYTES * v.size;
      if (bytes > largest.bytes) largest = { name: `${prefix}${name}`, bytes };
    }
  }
  return largest;
}

/**
 * The micro-batch size for a batch of `batchSize` under `limits`: `requested` (0: the whole batch)
 * or smaller where its tensors would not fit; 0 when the whole batch fits in one part.
 */
export function fitMicroBatch(
  state: TrainState,
  batchSize: number,
  requested: number,
  limits: GpuLimits,
): number {
  const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const network = specName(state.face.spec);
  const parameter = largestParameter(state);
  if (parameter.bytes > limit) {
    throw new GabnError(
      'config',
      `the parameter ${parameter.name} of ${network} (${mib(parameter.bytes)}) is larger than this GPU's largest buffer (${mib(limit)}): it cannot train on this GPU`,
      {
        expected:
          'a smaller network (width, embedding size, classes), or another backend (GABN_BACKEND=wasm)',
      },
    );
  }
  const perImage = largestTensorPerImage(state);
  const fitting = Math.floor(limit / perImage);
  if (fitting < 1) {
    throw new GabnError(
      'config',
      `one image's largest activation in ${network} (${mib(perImage)}) is larger than this GPU's largest buffer (${mib(limit)})`,
      { expected: 'a smaller input size or width, or another backend (GABN_BACKEND=wasm)' },
    );
  }
  const wanted = requested > 0 && requested < batchSize ? requested : batchSize;
  const size = Math.min(wanted, fitting);
  return size >= batchSize ? 0 : size;
}
