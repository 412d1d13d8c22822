/**
 * A restricted unpickler: it reads exactly what a PyTorch state dict's `data.pkl` holds and refuses
 * everything else. Nothing is ever called: a pickle names Python functions (GLOBAL) and asks for them
 * to be called (REDUCE, BUILD, NEWOBJ...), and this reader only recognises, by name, the few that
 * rebuild a state dict — `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and
 * `torch._utils._rebuild_parameter`, and the storage types `torch.FloatStorage` etc. — and builds
 * plain data in their place. Any other name, or any opcode outside the list below, is an error that
 * names it and the byte offset where it stands.
 */
import { GabnError } from '../../base/errors.ts';

import {
  CALLABLE,
  type GlobalName,
  isGlobal,
  isTensor,
  isTuple,
  type PickleValue,
  rebuild,
  STORAGE_TYPES,
  storageOf,
  type Tuple,
} from './pickle-values.ts';

export type { PickleValue, StorageReference, TensorReference } from './pickle-values.ts';

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

const OPCODE_NAMES: Record<number, string> = {
  99: 'GLOBAL',
  147: 'STACK_GLOBAL',
  82: 'REDUCE',
  98: 'BUILD',
  105: 'INST',
  111: 'OBJ',
  129: 'NEWOBJ',
  146: 'NEWOBJ_EX',
  80: 'PERSID',
  130: 'EXT1',
  131: 'EXT2',
  132: 'EXT4',
};

/** Unpickles `bytes` (protocols 2 to 5, the opcodes a state dict uses) into plain data. */
export function readStateDictPickle(bytes: Uint8Array, file: string): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;

  const fail = (message: string, at = pos): never => {
    throw new GabnError('malformed', `${message} (byte ${at} of the pickle)`, {
      file,
      expected: 'a state dict saved with torch.save(model.state_dict())',
    });
  };
  const refuse = (what: string, at: number): never => {
    throw new GabnError('malformed', `the pickle asks for code: ${what} (byte ${at}); nothing was run`, {
      file,
      expected:
        'a state dict (tensors in an ordered dict): save model.state_dict(), not the model or other objects',
    });
  };
  const take = (n: number): Uint8Array => {
    if (pos + n > bytes.length) fail('the pickle ends in the middle of an instruction');
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u8 = () => take(1)[0]!;
  const u16 = () => {
    take(2);
    return view.getUint16(pos - 2, true);
  };
  const u32 = () => {
    take(4);
    return view.getUint32(pos - 4, true);
  };
  const i32 = () => {
    take(4);
    return view.getInt32(pos - 4, true);
  };
  const u64 = () => {
    take(8);
    const big = view.getBigUint64(pos - 8, true);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) fail('a length beyond what a file can hold');
    return Number(big);
  };
  const text = (n: number) => {
    const raw = take(n);
    try {
      return decoder.decode(raw);
    } catch {
      return fail('a string that is not UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end === -1) fail('the pickle ends inside a name');
    const s = text(end - pos);
    pos++;
    return s;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) fail('an instruction finds too few values on the stack');
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const at = stack.lastIndexOf(MARK);
    if (at === -1) fail('an instruction finds no mark on the stack');
    const items = stack.splice(at) as PickleValue[];
    items.shift();
    return items;
  };
  const top = (): PickleValue => {
    const v = stack.at(-1);
    if (v === undefined || v === MARK) fail('an instruction finds nothing to act on');
    return v as PickleValue;
  };
  const global = (name: string, at: number): GlobalName => {
    if (CALLABLE.has(name) || STORAGE_TYPES.has(name)) return { kind: 'global', name };
    return refuse(`GLOBAL ${name}`, at);
  };
  const setItems = (target: PickleValue, items: PickleValue[], at: number) => {
    if (!(target instanceof Map)) fail('SETITEM on something that is not a dict', at);
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of values', at);
    for (let i = 0; i < items.length; i += 2)
      (target as Map<PickleValue, PickleValue>).set(items[i]!, items[i + 1]!);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('a pickle protocol newer than 5', at);
        break;
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail('the pickle stops with other than one value', at);
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1: a little-endian two's complement integer of n bytes
        const b = take(u8());
        let v = 0n;
        for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v,
        );
        break;
      }
      case 0x47: // BINFLOAT: big-endian double
        take(8);
        stack.push(view.getFloat64(pos - 8, false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(text(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(text(i32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(Uint8Array.from(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(Uint8Array.from(take(u32())));
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push({ kind: 'tuple', items: [] });
        break;
      case 0x85: // TUPLE1
        stack.push({ kind: 'tuple', items: [pop()] });
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push({ kind: 'tuple', items: [pop(), b] });
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push({ kind: 'tuple', items: [pop(), b, c] });
        break;
      }
      case 0x74: // TUPLE
        stack.push({ kind: 'tuple', items: popMark() });
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new Map<PickleValue, PickleValue>();
        setItems(d, popMark(), at);
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail('APPEND to something that is not a list', at);
        (list as PickleValue[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS to something that is not a list', at);
        (list as PickleValue[]).push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v], at);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items, at);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const index = op === 0x68 ? u8() : u32();
        if (!memo.has(index)) fail(`a reference to memo ${index}, which was never stored`, at);
        stack.push(memo.get(index)!);
        break;
      }
      case 0x63: {
        // GLOBAL module\nname\n
        const module = line();
        stack.push(global(`${module}.${line()}`, at));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          fail('STACK_GLOBAL without two names', at);
        stack.push(global(`${module}.${name}`, at));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(storageOf(pop(), fail, at));
        break;
      case 0x52: {
        // REDUCE: only the known rebuilders, applied here as data
        const args = pop();
        const callable = pop();
        if (!isGlobal(callable)) return refuse('REDUCE of something that is not a known name', at);
        if (!CALLABLE.has(callable.name)) return refuse(`REDUCE ${callable.name}`, at);
        if (!isTuple(args)) fail(`REDUCE ${callable.name} without an argument tuple`, at);
        stack.push(rebuild(callable.name, (args as Tuple).items, fail, at));
        break;
      }
      case 0x62: {
        // BUILD: the state of an OrderedDict (its _metadata attribute) or of a parameter: dropped.
        const state = pop();
        const target = top();
        if (!(target instanceof Map) && !isTensor(target)) return refuse('BUILD of an object', at);
        if (state !== null && !(state instanceof Map) && !isTuple(state))
          fail('BUILD with a strange state', at);
        break;
      }
      default:
        if (OPCODE_NAMES[op] !== undefined) return refuse(OPCODE_NAMES[op]!, at);
        return fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`, at);
    }
  }
}
