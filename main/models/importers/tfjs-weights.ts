/**
 * Reads a TensorFlow.js weights manifest (`*-weights_manifest.json`) and its binary shards into
 * float32 arrays. Shards of a group are one byte stream split into files; the weights follow each other
 * in manifest order. Quantized weights (uint8/uint16 with scale and min) are dequantized exactly as
 * tfjs does it: value = q * scale + min, computed in double precision and stored as float32.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';

export interface DecodedWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
  /** How it was stored: 'float32', or 'uint8'/'uint16' when it was quantized. */
  readonly storedAs: 'float32' | 'uint8' | 'uint16';
}

interface ManifestEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly storedAs: DecodedWeight['storedAs'];
  readonly scale: number;
  readonly min: number;
}

interface ManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly ManifestEntry[];
}

const MANIFEST_FORM =
  'a JSON array of groups { "paths": [shard file names], "weights": [{ "name", "shape", "dtype": "float32", "quantization"?: { "dtype": "uint8"|"uint16", "scale", "min" } }] }';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates the manifest's structure; `text` is only used to give line numbers in errors. */
export function parseWeightsManifest(text: string, file: string): ManifestGroup[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new GabnError('malformed', `weights manifest is not valid JSON: ${(error as Error).message}`, {
      file,
      expected: MANIFEST_FORM,
    });
  }
  if (!Array.isArray(json) || json.length === 0) {
    throw new GabnError('malformed', 'weights manifest is not a non-empty array of groups', {
      file,
      line: 1,
      expected: MANIFEST_FORM,
    });
  }
  return json.map((group: unknown, g) => {
    const where = (name?: string) => ({ file, line: lineOf(text, name), expected: MANIFEST_FORM });
    if (!isRecord(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new GabnError('malformed', `weights manifest group ${g} lacks "paths" or "weights"`, where());
    }
    const paths = group.paths.map((p: unknown) => {
      if (typeof p !== 'string' || p === '' || path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) {
        throw new GabnError('malformed', `weights manifest group ${g} has a bad shard path`, {
          ...where(),
          expected: 'shard file names relative to the manifest, inside its folder',
        });
      }
      return p;
    });
    const weights = group.weights.map((entry: unknown, i): ManifestEntry => {
      if (!isRecord(entry) || typeof entry.name !== 'string') {
        throw new GabnError('malformed', `weights manifest group ${g} entry ${i} has no name`, where());
      }
      const name = entry.name;
      const shape = entry.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new GabnError('malformed', `weight '${name}' has a bad shape`, where(name));
      }
      if (entry.dtype !== 'float32') {
        throw new GabnError('malformed', `weight '${name}' has dtype ${String(entry.dtype)}`, {
          ...where(name),
          expected: 'float32 weights (quantized or not)',
        });
      }
      const q = entry.quantization;
      if (q === undefined) return { name, shape, storedAs: 'float32', scale: 1, min: 0 };
      if (
        !isRecord(q) ||
        (q.dtype !== 'uint8' && q.dtype !== 'uint16') ||
        typeof q.scale !== 'number' ||
        typeof q.min !== 'number' ||
        !Number.isFinite(q.scale) ||
        !Number.isFinite(q.min)
      ) {
        throw new GabnError('malformed', `weight '${name}' has an unsupported quantization`, {
          ...where(name),
          expected: 'quantization { "dtype": "uint8" or "uint16", "scale": number, "min": number }',
        });
      }
      return { name, shape, storedAs: q.dtype, scale: q.scale, min: q.min };
    });
    return { paths, weights };
  });
}

/** 1-based line on which `"name": "<name>"` appears, so an error points at the entry. */
function lineOf(text: string, name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  const at = text.indexOf(JSON.stringify(name));
  return at === -1 ? undefined : text.slice(0, at).split('\n').length;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Decodes one group's concatenated shard bytes. */
export function decodeWeightGroup(group: ManifestGroup, bytes: Uint8Array, file: string): DecodedWeight[] {
  const decoded: DecodedWeight[] = [];
  let offset = 0;
  for (const entry of group.weights) {
    const count = elementCount(entry.shape);
    const width = entry.storedAs === 'float32' ? 4 : entry.storedAs === 'uint16' ? 2 : 1;
    const end = offset + count * width;
    if (end > bytes.length) {
      throw new GabnError('malformed', `weight '${entry.name}' runs past the end of the shards`, {
        file,
        expected: `at least ${end} bytes in ${group.paths.join(' + ')}, found ${bytes.length}`,
      });
    }
    // Copy the slice: a weight's byte offset need not be a multiple of its element size.
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * width);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      if (entry.storedAs === 'float32') values[i] = view.getFloat32(i * 4, true);
      else {
        const q = entry.storedAs === 'uint8' ? view.getUint8(i) : view.getUint16(i * 2, true);
        values[i] = q * entry.scale + entry.min;
      }
    }
    decoded.push({ name: entry.name, shape: entry.shape, values, storedAs: entry.storedAs });
    offset = end;
  }
  if (offset !== bytes.length) {
    throw new GabnError(
      'malformed',
      `shards hold ${bytes.length - offset} bytes more than the manifest lists`,
      {
        file,
        expected: `${offset} bytes in ${group.paths.join(' + ')}`,
      },
    );
  }
  return decoded;
}

export interface WeightsManifestContents {
  readonly weights: DecodedWeight[];
  /** The manifest's exact bytes and each shard's, for provenance hashes. */
  readonly manifestBytes: Buffer;
  readonly shards: readonly { readonly path: string; readonly bytes: Buffer }[];
}

/** Reads and decodes a manifest and the shards beside it. */
export async function readWeightsManifest(manifestFile: string): Promise<WeightsManifestContents> {
  const manifestBytes = await readFileOrFail(manifestFile, 'TensorFlow.js weights manifest');
  const groups = parseWeightsManifest(manifestBytes.toString('utf8'), manifestFile);
  const folder = path.dirname(manifestFile);
  const weights: DecodedWeight[] = [];
  const shards: { path: string; bytes: Buffer }[] = [];
  for (const group of groups) {
    const parts: Buffer[] = [];
    for (const shard of group.paths) {
      const shardFile = path.join(folder, shard);
      const bytes = await readFileOrFail(shardFile, `weights shard listed in ${manifestFile}`);
      parts.push(bytes);
      shards.push({ path: shardFile, bytes });
    }
    weights.push(...decodeWeightGroup(group, Buffer.concat(parts), manifestFile));
  }
  return { weights, manifestBytes, shards };
}

async function readFileOrFail(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new GabnError('missing-file', `cannot read ${what}: ${(error as Error).message}`, {
      file,
      expected: `a readable ${what}`,
      cause: error,
    });
  }
}
