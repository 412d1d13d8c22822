/**
 * Reads a PyTorch state dict (`torch.save(model.state_dict(), 'backbone.pth')`, the zip format of
 * PyTorch 1.6 and later): `<archive>/data.pkl` is a pickle of tensor references whose storages are
 * the raw little-endian files `<archive>/data/<key>`. The pickle is read by the restricted
 * unpickler (pickle.ts), which runs nothing; the zip container by fflate.
 */
import { unzipSync } from 'fflate';
import { GabnError } from '../../base/errors.ts';
import { float16ArrayToFloat32 } from '../float16.ts';
import type { SourceTensor, StateDict } from './iresnet-state-dict.ts';
import { type PickleValue, readStateDictPickle, type TensorReference } from './pickle.ts';

const EXPECTED =
  'a PyTorch state dict saved with torch.save(model.state_dict(), path) (PyTorch 1.6 or later)';

const ELEMENT_BYTES: Record<string, number> = {
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  DoubleStorage: 8,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
};

export interface PytorchStateDict {
  readonly tensors: StateDict;
  /** The zip's top folder (torch.save names it after the file) and its entries, for provenance. */
  readonly archive: string;
  readonly entries: number;
  /** Storage types found, e.g. { FloatStorage: 120, LongStorage: 40 }. */
  readonly storageTypes: Record<string, number>;
}

function unzip(bytes: Uint8Array, file: string): Record<string, Uint8Array> {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] === 0x02) {
    throw new GabnError('malformed', 'this is the legacy torch.save format (before PyTorch 1.6)', {
      file,
      expected: `${EXPECTED}; load it in PyTorch and save it again`,
    });
  }
  if (!(bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    throw new GabnError('malformed', 'not a zip archive, so not a PyTorch state dict', {
      file,
      expected: EXPECTED,
    });
  }
  try {
    return unzipSync(bytes);
  } catch (error) {
    throw new GabnError('malformed', `the zip archive is damaged or truncated: ${(error as Error).message}`, {
      file,
      expected: EXPECTED,
      cause: error,
    });
  }
}

/** Reads a `.pth`/`.pt` state dict: the tensors by name, as float32, in PyTorch's layouts. */
export function readPytorchStateDict(bytes: Uint8Array, file: string): PytorchStateDict {
  const entries = unzip(bytes, file);
  const pkl = Object.keys(entries).filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) {
    throw new GabnError('malformed', `the archive has ${pkl.length} <archive>/data.pkl entries`, {
      file,
      expected: `exactly one; ${EXPECTED}`,
    });
  }
  const archive = pkl[0]!.slice(0, -'/data.pkl'.length);
  const order = entries[`${archive}/byteorder`];
  if (order !== undefined && new TextDecoder().decode(order).trim() !== 'little') {
    throw new GabnError('malformed', 'the storages are big-endian', {
      file,
      expected: 'a little-endian save',
    });
  }
  const root = readStateDictPickle(entries[pkl[0]!]!, file);
  if (!(root instanceof Map)) {
    throw new GabnError('malformed', 'the pickle holds no dict of tensors', { file, expected: EXPECTED });
  }
  const tensors = new Map<string, SourceTensor>();
  const storageTypes: Record<string, number> = {};
  for (const [name, value] of root as Map<PickleValue, PickleValue>) {
    if (typeof name !== 'string') {
      throw new GabnError('malformed', 'the state dict has a key that is not a string', {
        file,
        expected: EXPECTED,
      });
    }
    if (typeof value !== 'object' || value === null || (value as TensorReference).kind !== 'tensor') {
      throw new GabnError('malformed', `state dict entry '${name}' is not a tensor`, {
        file,
        expected: EXPECTED,
      });
    }
    const ref = value as TensorReference;
    storageTypes[ref.storage.type] = (storageTypes[ref.storage.type] ?? 0) + 1;
    // Integer buffers (num_batches_tracked) carry no weights.
    if (!['FloatStorage', 'HalfStorage', 'BFloat16Storage', 'DoubleStorage'].includes(ref.storage.type)) {
      if (name.endsWith('num_batches_tracked')) continue;
      throw new GabnError('malformed', `tensor '${name}' is stored as ${ref.storage.type}`, {
        file,
        expected: 'float32, float16, bfloat16 or float64 weights',
      });
    }
    const data = entries[`${archive}/data/${ref.storage.key}`];
    if (data === undefined) {
      throw new GabnError(
        'malformed',
        `tensor '${name}' refers to storage ${ref.storage.key}, absent from the archive`,
        {
          file,
          expected: EXPECTED,
        },
      );
    }
    tensors.set(name, {
      shape: ref.size,
      values: gather(ref, decode(ref.storage.type, data, name, ref, file), name, file),
    });
  }
  return { tensors, archive, entries: Object.keys(entries).length, storageTypes };
}

function decode(
  type: string,
  data: Uint8Array,
  name: string,
  ref: TensorReference,
  file: string,
): Float32Array {
  const width = ELEMENT_BYTES[type]!;
  if (data.byteLength !== ref.storage.numel * width) {
    throw new GabnError(
      'malformed',
      `the storage of '${name}' is ${data.byteLength} bytes, its ${ref.storage.numel} ${type} values need ${ref.storage.numel * width}`,
      { file, expected: 'an archive that is not truncated' },
    );
  }
  const aligned = new Uint8Array(data);
  const view = new DataView(aligned.buffer);
  const n = ref.storage.numel;
  if (type === 'FloatStorage') return new Float32Array(aligned.buffer);
  if (type === 'HalfStorage') return float16ArrayToFloat32(new Uint16Array(aligned.buffer));
  const out = new Float32Array(n);
  if (type === 'DoubleStorage') for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  else {
    // bfloat16 is the upper half of a float32.
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
    out.set(new Float32Array(bits.buffer));
  }
  return out;
}

/** The tensor's elements in row-major order, following its offset and strides into the storage. */
function gather(ref: TensorReference, storage: Float32Array, name: string, file: string): Float32Array {
  const { size, stride, offset } = ref;
  const count = size.reduce((a, b) => a * b, 1);
  if (count === 0) return new Float32Array(0);
  const last = offset + size.reduce((s, d, i) => s + (d - 1) * stride[i]!, 0);
  if (offset < 0 || last >= storage.length) {
    throw new GabnError('malformed', `tensor '${name}' reaches past the end of its storage`, {
      file,
      expected: 'offsets and strides inside the storage',
    });
  }
  const out = new Float32Array(count);
  const index = new Array<number>(size.length).fill(0);
  for (let i = 0; i < count; i++) {
    let at = offset;
    for (let d = 0; d < size.length; d++) at += index[d]! * stride[d]!;
    out[i] = storage[at]!;
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d]! < size[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}
