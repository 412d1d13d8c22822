/**
 * Reads a `.safetensors` file: an 8-byte little-endian header length N, N bytes of JSON naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. Nothing in it can run.
 */
import { GabnError } from '../../base/errors.ts';
import { float16ArrayToFloat32 } from '../float16.ts';
import type { SourceTensor, StateDict } from './iresnet-state-dict.ts';

const EXPECTED = 'a safetensors file: u64 header length, JSON header, tensor bytes';
const WIDTH: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };

export interface SafetensorsContents {
  readonly tensors: StateDict;
  /** The header's `__metadata__` (strings only, by the format's rule). */
  readonly metadata: Record<string, string>;
}

export function readSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8)
    throw new GabnError('malformed', 'the file is shorter than its header length', {
      file,
      expected: EXPECTED,
    });
  const length = view.getBigUint64(0, true);
  if (length > BigInt(bytes.length - 8) || length > 100_000_000n) {
    throw new GabnError(
      'malformed',
      `the header claims ${length} bytes, the file has ${bytes.length - 8} after it`,
      {
        file,
        expected: `${EXPECTED} (truncated?)`,
      },
    );
  }
  const headerEnd = 8 + Number(length);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd)));
  } catch (error) {
    throw new GabnError('malformed', `the header is not JSON: ${(error as Error).message}`, {
      file,
      expected: EXPECTED,
    });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new GabnError('malformed', 'the header is not a JSON object', { file, expected: EXPECTED });
  }
  const data = bytes.subarray(headerEnd);
  const tensors = new Map<string, SourceTensor>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = Object.fromEntries(Object.entries((entry ?? {}) as object).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const width = typeof e.dtype === 'string' ? WIDTH[e.dtype] : undefined;
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (
      width === undefined ||
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isInteger(d) && d >= 0) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((d) => Number.isInteger(d) && d >= 0)
    ) {
      throw new GabnError('malformed', `header entry '${name}' is not { dtype, shape, data_offsets }`, {
        file,
        expected: `dtype one of ${Object.keys(WIDTH).join(', ')}, integer shape and offsets`,
      });
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * width || end > data.length) {
      throw new GabnError(
        'malformed',
        `tensor '${name}' spans bytes ${begin}..${end} of ${data.length}, its shape needs ${count * width}`,
        { file, expected: `${EXPECTED} (truncated?)` },
      );
    }
    ranges.push([begin, end, name]);
    if (e.dtype === 'I64' || e.dtype === 'I32') {
      if (name.endsWith('num_batches_tracked')) continue;
      throw new GabnError('malformed', `tensor '${name}' is ${e.dtype}`, {
        file,
        expected: 'floating-point weights',
      });
    }
    tensors.set(name, {
      shape: shape as number[],
      values: decode(e.dtype as string, data.slice(begin, end), count),
    });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) {
      throw new GabnError('malformed', `tensors '${ranges[i - 1]![2]}' and '${ranges[i]![2]}' overlap`, {
        file,
        expected: EXPECTED,
      });
    }
  }
  return { tensors, metadata };
}

function decode(dtype: string, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, count).slice();
  if (dtype === 'F16') return float16ArrayToFloat32(new Uint16Array(bytes.buffer, bytes.byteOffset, count));
  const out = new Float32Array(count);
  if (dtype === 'F64') for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
  else {
    const bits = new Uint32Array(count);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
    out.set(new Float32Array(bits.buffer));
  }
  return out;
}
