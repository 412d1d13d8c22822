/**
 * Writes and reads the imported face-api network as a GABN checkpoint directory `<name>.gabn/`:
 * `checkpoint.json` in the project's format (format, formatVersion, architecture, sizes, groups,
 * classes, provenance, tfjs weights manifest) and `weights.bin` (float32: the dequantized values are
 * kept exactly). The architecture family is 'face-api-resnet' and there is no head.
 *
 * main/models/checkpoint.ts validates the 'iresnet' family only; until it knows this family too, this
 * file writes with the same atomic directory writer and reads back with the same checks (every name,
 * shape, byte count and value).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { softwareVersion } from '../../base/version.ts';
import { WEIGHTS_FILE } from '../checkpoint.ts';
import { checkCheckpointTarget, writeCheckpointFolder } from '../checkpoint-folder.ts';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_JSON,
  type JsonObject,
  type WeightsManifestGroup,
} from '../checkpoint-schema.ts';
import type { FaceApiArchitecture, FaceApiImport, ImportedWeight } from './face-api.ts';
import { FACE_API_EMBEDDING_SIZE, FACE_API_INPUT_SIZE, faceApiParamSpecs } from './face-api-net.ts';
import { decodeWeightGroup, parseWeightsManifest } from './tfjs-weights.ts';

/** checkpoint.json of an imported face-api network. */
export interface FaceApiCheckpointJson {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly formatVersion: number;
  readonly architecture: FaceApiArchitecture & { readonly name: string };
  readonly inputSize: number;
  readonly embeddingSize: number;
  readonly parameterCount: number;
  /** An imported network was not trained by GABN Studio: no groups, no identity classes. */
  readonly groups: string[];
  readonly classCount: 0;
  readonly provenance: {
    /** `data.import`: the package, version, file hashes, storage, preprocessing and licence notes. */
    readonly data: JsonObject;
    readonly config: JsonObject;
    readonly softwareVersion: string;
    readonly createdAt: string;
    readonly metrics: JsonObject;
  };
  readonly weights: WeightsManifestGroup[];
}

export interface WrittenCheckpoint {
  readonly dir: string;
  readonly json: FaceApiCheckpointJson;
  readonly files: readonly { readonly name: string; readonly bytes: number }[];
}

function encodeWeights(weights: readonly ImportedWeight[]): {
  bytes: Uint8Array;
  manifest: WeightsManifestGroup[];
} {
  const bytes = new Uint8Array(weights.reduce((n, w) => n + w.values.byteLength, 0));
  let offset = 0;
  for (const w of weights) {
    bytes.set(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength), offset);
    offset += w.values.byteLength;
  }
  const entries = weights.map((w) => ({ name: w.name, shape: [...w.shape], dtype: 'float32' as const }));
  return { bytes, manifest: [{ paths: [WEIGHTS_FILE], weights: entries }] };
}

/**
 * Writes the import to `dir` (named `<name>.gabn`) atomically. An existing directory is replaced
 * only with `force`, and only if it is itself a checkpoint.
 */
export async function writeFaceApiCheckpoint(
  dir: string,
  imported: FaceApiImport,
  options: { force?: boolean; createdAt?: string } = {},
): Promise<WrittenCheckpoint> {
  const replace = { replace: options.force === true };
  // Refused before 22 MB are encoded; checked again just before the swap.
  await checkCheckpointTarget(dir, replace);
  const { bytes, manifest } = encodeWeights(imported.weights);
  const json: FaceApiCheckpointJson = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    architecture: { ...imported.architecture, name: `face-api-resnet-${imported.architecture.inputSize}` },
    inputSize: imported.architecture.inputSize,
    embeddingSize: imported.architecture.embeddingSize,
    parameterCount: imported.parameterCount,
    groups: [],
    classCount: 0,
    provenance: {
      data: { import: imported.provenance as unknown as JsonObject },
      config: { importer: 'gabn import face-api' },
      softwareVersion: softwareVersion().version,
      createdAt: options.createdAt ?? new Date().toISOString(),
      metrics: {},
    },
    weights: manifest,
  };
  const jsonBytes = new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`);
  const files = new Map<string, Uint8Array>([
    [WEIGHTS_FILE, bytes],
    [CHECKPOINT_JSON, jsonBytes],
  ]);
  await writeCheckpointFolder(dir, files, replace);
  return {
    dir,
    json,
    files: [
      { name: CHECKPOINT_JSON, bytes: jsonBytes.byteLength },
      { name: WEIGHTS_FILE, bytes: bytes.byteLength },
    ],
  };
}

/** Reads a face-api checkpoint back, checking format, architecture, names, shapes, bytes and values. */
export async function readFaceApiCheckpoint(
  dir: string,
): Promise<{ json: FaceApiCheckpointJson; weights: ImportedWeight[] }> {
  const jsonFile = path.join(dir, CHECKPOINT_JSON);
  let text: string;
  try {
    text = await readFile(jsonFile, 'utf8');
  } catch (error) {
    throw new GabnError('missing-file', `cannot read the checkpoint: ${(error as Error).message}`, {
      file: jsonFile,
      expected: 'a <name>.gabn directory written by gabn import face-api',
      cause: error,
    });
  }
  let json: FaceApiCheckpointJson;
  try {
    json = JSON.parse(text) as FaceApiCheckpointJson;
  } catch (error) {
    throw new GabnError('malformed', `not valid JSON: ${(error as Error).message}`, { file: jsonFile });
  }
  const a = json?.architecture;
  if (json?.format !== CHECKPOINT_FORMAT || typeof json.formatVersion !== 'number') {
    throw new GabnError('checkpoint', 'this is not a GABN Studio checkpoint', {
      file: jsonFile,
      expected: `"format": "${CHECKPOINT_FORMAT}"`,
    });
  }
  if (json.formatVersion > CHECKPOINT_FORMAT_VERSION) {
    throw new GabnError('checkpoint', `written by a newer GABN Studio: format ${json.formatVersion}`, {
      file: jsonFile,
      expected: `formatVersion ≤ ${CHECKPOINT_FORMAT_VERSION}`,
    });
  }
  if (
    a?.family !== 'face-api-resnet' ||
    a.inputSize !== FACE_API_INPUT_SIZE ||
    a.embeddingSize !== FACE_API_EMBEDDING_SIZE
  ) {
    throw new GabnError('checkpoint', `architecture is ${JSON.stringify(a)}`, {
      file: jsonFile,
      expected: `{ family: 'face-api-resnet', inputSize: ${FACE_API_INPUT_SIZE}, embeddingSize: ${FACE_API_EMBEDDING_SIZE} }`,
    });
  }
  const groups = parseWeightsManifest(JSON.stringify(json.weights), jsonFile);
  const weights: ImportedWeight[] = [];
  for (const group of groups) {
    if (group.paths.some((p) => p.includes('/') || p.includes('\\'))) {
      throw new GabnError('checkpoint', 'weights are listed outside the checkpoint directory', {
        file: jsonFile,
        expected: 'plain file names',
      });
    }
    const parts: Buffer[] = [];
    for (const name of group.paths) {
      const file = path.join(dir, name);
      parts.push(
        await readFile(file).catch((error: Error) => {
          throw new GabnError('missing-file', `the checkpoint lacks ${name}: ${error.message}`, { file });
        }),
      );
    }
    for (const w of decodeWeightGroup(group, Buffer.concat(parts), jsonFile)) {
      const bad = w.values.findIndex((v) => !Number.isFinite(v));
      if (bad !== -1) {
        throw new GabnError('checkpoint', `tensor '${w.name}' holds ${w.values[bad]} at index ${bad}`, {
          file: path.join(dir, group.paths[0]!),
          expected: 'finite weights',
        });
      }
      weights.push({ name: w.name, shape: w.shape, values: w.values });
    }
  }
  const specs = faceApiParamSpecs();
  const found = weights.map((w) => `${w.name}[${w.shape.join(',')}]`).join(' ');
  const wanted = specs.map((s) => `${s.name}[${s.shape.join(',')}]`).join(' ');
  if (found !== wanted) {
    const index = specs.findIndex(
      (s, i) => weights[i]?.name !== s.name || weights[i]?.shape.join(',') !== s.shape.join(','),
    );
    const spec = specs[index];
    throw new GabnError('checkpoint', `weights do not match the face-api network at tensor ${index}`, {
      file: jsonFile,
      expected:
        spec === undefined ? `${specs.length} tensors` : `'${spec.name}' of shape [${spec.shape.join(', ')}]`,
    });
  }
  return { json, weights };
}
