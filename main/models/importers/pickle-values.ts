/**
 * The plain data the restricted unpickler (pickle.ts) builds, and the names it recognises: what a
 * state dict's pickle holds, in place of the Python objects it would otherwise make.
 */
/** A tensor's reference to its storage, as torch.save pickles it: (storage, offset, size, stride). */
export interface TensorReference {
  readonly kind: 'tensor';
  readonly storage: StorageReference;
  readonly offset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

/** A persistent id ('storage', type, key, location, numel): the bytes live in `data/<key>`. */
export interface StorageReference {
  readonly kind: 'storage';
  /** `FloatStorage`, `HalfStorage`, ... */
  readonly type: string;
  readonly key: string;
  readonly numel: number;
}

export interface GlobalName {
  readonly kind: 'global';
  readonly name: string;
}

export interface Tuple {
  readonly kind: 'tuple';
  readonly items: readonly PickleValue[];
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | Tuple
  | GlobalName
  | TensorReference
  | StorageReference;

/** The storage types a state dict references (PyTorch's legacy typed storages). */
export const STORAGE_TYPES = new Set([
  'torch.FloatStorage',
  'torch.HalfStorage',
  'torch.BFloat16Storage',
  'torch.DoubleStorage',
  'torch.LongStorage',
  'torch.IntStorage',
  'torch.ShortStorage',
  'torch.CharStorage',
  'torch.ByteStorage',
  'torch.BoolStorage',
]);

/** What REDUCE may be asked to apply: the tensor rebuilders and the ordered dict, nothing else. */
export const CALLABLE = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
]);

export function isTuple(v: unknown): v is Tuple {
  return typeof v === 'object' && v !== null && (v as Tuple).kind === 'tuple';
}

export function isGlobal(v: unknown): v is GlobalName {
  return typeof v === 'object' && v !== null && (v as GlobalName).kind === 'global';
}

export function isTensor(v: unknown): v is TensorReference {
  return typeof v === 'object' && v !== null && (v as TensorReference).kind === 'tensor';
}

export function storageOf(
  pid: PickleValue,
  fail: (m: string, at?: number) => never,
  at: number,
): StorageReference {
  // ('storage', <storage type>, key, location, numel)
  if (!isTuple(pid) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
    return fail('a persistent id that is not a storage', at);
  }
  const [, type, key, , numel] = pid.items;
  if (!isGlobal(type) || !STORAGE_TYPES.has(type.name)) return fail('a storage of an unknown type', at);
  if (typeof key !== 'string' || !/^[A-Za-z0-9_]+$/.test(key))
    return fail('a storage key that is not a plain name', at);
  if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0)
    return fail('a storage with a bad size', at);
  return { kind: 'storage', type: type.name.slice('torch.'.length), key, numel };
}

function integers(v: PickleValue | undefined): number[] | undefined {
  if (!isTuple(v)) return undefined;
  return v.items.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)
    ? (v.items as number[])
    : undefined;
}

export function rebuild(
  name: string,
  args: readonly PickleValue[],
  fail: (m: string, at?: number) => never,
  at: number,
): PickleValue {
  if (name === 'collections.OrderedDict') {
    if (args.length !== 0) fail('an OrderedDict built from arguments', at);
    return new Map();
  }
  if (name === 'torch._utils._rebuild_parameter') {
    // (data, requires_grad, backward_hooks): the tensor is the data.
    const data = args[0];
    if (!isTensor(data)) fail('a parameter without a tensor', at);
    return data as TensorReference;
  }
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  const [storage, offset, size, stride] = args;
  const shape = integers(size);
  const strides = integers(stride);
  if (
    typeof storage !== 'object' ||
    storage === null ||
    (storage as StorageReference).kind !== 'storage' ||
    typeof offset !== 'number' ||
    shape === undefined ||
    strides === undefined ||
    shape.length !== strides.length
  ) {
    return fail('a tensor whose storage, offset, size or stride is malformed', at);
  }
  return { kind: 'tensor', storage: storage as StorageReference, offset, size: shape, stride: strides };
}
