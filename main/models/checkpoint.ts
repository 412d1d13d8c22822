/**
 * Checkpoints (DESIGN.md §4, docs/checkpoints.md): a directory `<name>.gabn/` holding
 * `checkpoint.json` (format version, architecture, groups, classes, provenance and tfjs weights
 * manifests) and the tensors: `weights.bin` (the face network), optionally `head.bin`,
 * `discriminator.bin` and `optimizer.bin` for resuming a run. Written atomically; read back only
 * after every field, file, name, shape, byte count and value has been checked.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { checkUntrustedFile, decodeUtf8Text, readUntrustedFile } from '../base/untrusted-files.ts';
import { tf } from '../engine/tf.ts';
import type { LoadedCheckpoint } from './checkpoint-files.ts';
import {
  type ArchitectureJson,
  CHECKPOINT_JSON,
  type CheckpointJson,
  isIResNetArchitecture,
  parseCheckpointJson,
  type ValidateOptions,
  type WeightsManifestGroup,
} from './checkpoint-schema.ts';
import { discriminatorLayout, discriminatorSpec } from './discriminator.ts';
import { float16ArrayToFloat32 } from './float16.ts';
import { type IResNet, iresnetLayout, iresnetParameterCount } from './iresnet.ts';
import { type IResNetSpec, specName } from './iresnet-spec.ts';
import { marginHeadLayout } from './margin-head.ts';
import { paramsFromValues, sizeOf, type TensorLayout } from './parameters.ts';

export * from './checkpoint-files.ts';
export { saveCheckpoint } from './checkpoint-write.ts';

export interface CheckpointFiles {
  readonly dir: string;
  readonly json: CheckpointJson;
  readonly weights: Map<string, Float32Array>;
  readonly head?: Map<string, Float32Array>;
  readonly discriminator?: Map<string, Float32Array>;
  readonly optimizer?: Map<string, { shape: number[]; values: Float32Array }>;
  /** File name → bytes on disk, checkpoint.json included. */
  readonly fileSizes: Record<string, number>;
}

/**
 * Reads and checks a checkpoint directory without building tensors. Throws a GabnError naming the
 * file and what does not match: a missing file, an unknown architecture, a newer format, a tensor
 * missing, unexpected or of the wrong shape, a byte count that disagrees with the manifest, NaN/Inf.
 */
export async function readCheckpoint(dir: string, options: ValidateOptions = {}): Promise<CheckpointFiles> {
  const { json, bytes } = readCheckpointJsonFile(dir, options);
  const fileSizes: Record<string, number> = { [CHECKPOINT_JSON]: bytes };
  const read = (
    field: string,
    groups: WeightsManifestGroup[],
    expected: readonly TensorLayout[] | undefined,
  ) => readTensors(dir, field, groups, expected, fileSizes);
  const architecture = json.architecture;
  const spec = isIResNetArchitecture(architecture) ? specOf(architecture) : undefined;
  if (spec !== undefined && json.parameterCount !== iresnetParameterCount(spec)) {
    throw new GabnError(
      'checkpoint',
      `parameterCount is ${json.parameterCount}, ${specName(spec)} has ${iresnetParameterCount(spec)}`,
      { file: path.join(dir, CHECKPOINT_JSON), expected: 'the parameter count of the architecture' },
    );
  }
  // Imported networks are checked against their own manifest: names, sizes, bytes and values.
  const weights = toValues(
    await read('weights', json.weights, spec === undefined ? undefined : iresnetLayout(spec)),
  );
  const result: { -readonly [K in keyof CheckpointFiles]: CheckpointFiles[K] } = {
    dir,
    json,
    weights,
    fileSizes,
  };
  if (json.head !== undefined) {
    result.head = toValues(
      await read(
        'head.weights',
        json.head.weights,
        marginHeadLayout(architecture.embeddingSize, json.head.classes),
      ),
    );
  }
  if (json.discriminator !== undefined) {
    const d = json.discriminator;
    result.discriminator = toValues(
      await read(
        'discriminator.weights',
        d.weights,
        discriminatorLayout(discriminatorSpec(d.groups, d.width)),
      ),
    );
  }
  if (json.optimizer !== undefined)
    result.optimizer = await read('optimizer.weights', json.optimizer.weights, undefined);
  return result;
}

/** checkpoint.json holds names, shapes and provenance: a few megabytes for the largest network. */
const MAX_CHECKPOINT_JSON_BYTES = 64 * 1024 ** 2;

function checkpointDirectory(dir: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    throw new GabnError('missing-file', 'no such checkpoint', {
      file: dir,
      expected: 'a <name>.gabn directory holding checkpoint.json',
    });
  }
  if (!isDirectory) {
    throw new GabnError('checkpoint', 'is a file, not a checkpoint directory', {
      file: dir,
      expected: 'a <name>.gabn directory',
    });
  }
}

function readCheckpointJsonFile(
  dir: string,
  options: ValidateOptions,
): { json: CheckpointJson; bytes: number } {
  checkpointDirectory(dir);
  const jsonPath = path.join(dir, CHECKPOINT_JSON);
  if (!existsSync(jsonPath)) {
    throw new GabnError('missing-file', `the checkpoint has no ${CHECKPOINT_JSON}`, { file: jsonPath });
  }
  const bytes = readUntrustedFile(jsonPath, {
    what: CHECKPOINT_JSON,
    maxBytes: MAX_CHECKPOINT_JSON_BYTES,
    inside: dir,
    expected: 'a checkpoint.json written by GABN Studio',
  });
  const text = decodeUtf8Text(bytes, jsonPath, CHECKPOINT_JSON);
  return { json: parseCheckpointJson(text, jsonPath, options), bytes: bytes.byteLength };
}

/**
 * A checkpoint's checkpoint.json, read (a regular file inside the folder, of a bounded size) and
 * validated, without its tensors: what describing a checkpoint, or choosing how to load it, needs.
 */
export function readCheckpointJson(dir: string, options: ValidateOptions = {}): CheckpointJson {
  return readCheckpointJsonFile(dir, options).json;
}

/** Bytes a weights group's tensors take as the manifest describes them. */
function describedBytes(group: WeightsManifestGroup): number {
  return group.weights.reduce((n, w) => n + sizeOf(w.shape) * (w.quantization ? 2 : 4), 0);
}

const WEIGHTS_EXPECTED = 'the file written with this checkpoint.json (truncated or replaced?)';

/**
 * Checks, without reading them, the files of one weights group: each a regular file inside the
 * checkpoint folder, together exactly the size the manifest describes. So a link to /dev/zero, a
 * folder, a file outside or a file of gigabytes is refused before a byte is read.
 */
function checkGroupFiles(dir: string, field: string, group: WeightsManifestGroup): string[] {
  const files = group.paths.map((name) => {
    const file = path.join(dir, name);
    if (!existsSync(file)) {
      throw new GabnError('missing-file', `the checkpoint lacks ${name}, listed in ${field}`, { file });
    }
    return file;
  });
  const sizes = files.map((file, i) =>
    checkUntrustedFile(file, {
      what: group.paths[i]!,
      maxBytes: Number.MAX_SAFE_INTEGER,
      inside: dir,
      expected: 'a regular file inside the checkpoint folder',
    }),
  );
  const total = sizes.reduce((a, b) => a + b, 0);
  const described = describedBytes(group);
  if (total !== described) {
    throw new GabnError(
      'checkpoint',
      `${group.paths.join(' + ')} is ${total} bytes, the manifest describes ${described} bytes`,
      { file: files[0]!, expected: WEIGHTS_EXPECTED },
    );
  }
  return files;
}

/** Every weights group checkpoint.json lists: the network's, and the head's, discriminator's, optimizer's. */
function manifestGroups(json: CheckpointJson): [string, WeightsManifestGroup[]][] {
  return [
    ['weights', json.weights],
    ['head.weights', json.head?.weights ?? []],
    ['discriminator.weights', json.discriminator?.weights ?? []],
    ['optimizer.weights', json.optimizer?.weights ?? []],
  ];
}

/**
 * Checks every weights file a checkpoint.json lists, as readCheckpoint does before it reads one:
 * for readers of other families (an imported network) to call first.
 */
export function checkWeightsFiles(dir: string, json: CheckpointJson): void {
  for (const [field, groups] of manifestGroups(json)) for (const g of groups) checkGroupFiles(dir, field, g);
}

/** The bytes of one weights group, checked as checkGroupFiles does; never more than described. */
function readGroupBytes(dir: string, field: string, group: WeightsManifestGroup): Buffer {
  const files = checkGroupFiles(dir, field, group);
  const maxBytes = describedBytes(group);
  const parts = files.map((file, i) =>
    readUntrustedFile(file, { what: group.paths[i]!, maxBytes, inside: dir, expected: WEIGHTS_EXPECTED }),
  );
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function toValues(
  tensors: Map<string, { shape: number[]; values: Float32Array }>,
): Map<string, Float32Array> {
  return new Map([...tensors].map(([name, t]) => [name, t.values]));
}

async function readTensors(
  dir: string,
  field: string,
  groups: WeightsManifestGroup[],
  expected: readonly TensorLayout[] | undefined,
  fileSizes: Record<string, number>,
): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  const jsonPath = path.join(dir, CHECKPOINT_JSON);
  const entries = groups.flatMap((g) => g.weights);
  if (expected !== undefined) {
    const listed = new Map(entries.map((e) => [e.name, e]));
    const missing = expected.filter((t) => !listed.has(t.name)).map((t) => t.name);
    if (missing.length > 0) {
      throw new GabnError('checkpoint', `${field} lacks ${missing.length} tensor(s): ${preview(missing)}`, {
        file: jsonPath,
        expected: 'every tensor of the architecture',
      });
    }
    const known = new Set(expected.map((t) => t.name));
    const unexpected = entries.filter((e) => !known.has(e.name)).map((e) => e.name);
    if (unexpected.length > 0) {
      throw new GabnError(
        'checkpoint',
        `${field} lists tensor(s) the architecture does not have: ${preview(unexpected)}`,
        {
          file: jsonPath,
        },
      );
    }
    for (const t of expected) {
      const found = listed.get(t.name)!.shape;
      if (found.join(',') !== t.shape.join(',')) {
        throw new GabnError(
          'checkpoint',
          `tensor '${t.name}' has shape [${found.join(', ')}], expected [${t.shape.join(', ')}]`,
          {
            file: jsonPath,
            expected: `the shapes of ${field === 'weights' ? 'the architecture in checkpoint.json' : field}`,
          },
        );
      }
    }
  }
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const group of groups) {
    const bytes = readGroupBytes(dir, field, group);
    for (const name of group.paths) fileSizes[name] = statSync(path.join(dir, name)).size;
    let offset = 0;
    for (const w of group.weights) {
      const size = sizeOf(w.shape);
      // Copy out of the file buffer: typed arrays need aligned offsets, and the tensors outlive it.
      const slice = bytes.subarray(offset, offset + size * (w.quantization ? 2 : 4));
      const aligned = new Uint8Array(slice);
      const values = w.quantization
        ? float16ArrayToFloat32(new Uint16Array(aligned.buffer))
        : new Float32Array(aligned.buffer);
      offset += slice.byteLength;
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad !== -1) {
        const count = values.reduce((n, v) => n + (Number.isFinite(v) ? 0 : 1), 0);
        throw new GabnError(
          'checkpoint',
          `tensor '${w.name}' holds ${count} non-finite value(s) (first: ${values[bad]} at index ${bad})`,
          {
            file: path.join(dir, group.paths[0]!),
            expected: 'finite weights',
          },
        );
      }
      out.set(w.name, { shape: w.shape, values });
    }
  }
  return out;
}

function preview(names: string[]): string {
  return names.length <= 5
    ? names.join(', ')
    : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}

/** Reads, checks and builds a checkpoint: variables for the networks, tensors for optimizer slots. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const files = await readCheckpoint(dir);
  const { json } = files;
  if (!isIResNetArchitecture(json.architecture))
    throw new GabnError('internal', 'strict read returned another family');
  const spec = specOf(json.architecture);
  const model: IResNet = { spec, params: paramsFromValues(iresnetLayout(spec), files.weights) };
  const loaded: { -readonly [K in keyof LoadedCheckpoint]: LoadedCheckpoint[K] } = {
    json,
    model,
    groups: json.groups,
    classCount: json.classCount,
    provenance: json.provenance,
  };
  if (json.head !== undefined && files.head !== undefined) {
    const layout = marginHeadLayout(spec.embeddingSize, json.head.classes);
    loaded.head = {
      embeddingSize: spec.embeddingSize,
      classes: json.head.classes,
      params: paramsFromValues(layout, files.head),
    };
    loaded.margin = json.head.margin;
  }
  if (json.discriminator !== undefined && files.discriminator !== undefined) {
    const dspec = discriminatorSpec(json.discriminator.groups, json.discriminator.width);
    loaded.discriminator = {
      spec: dspec,
      params: paramsFromValues(discriminatorLayout(dspec), files.discriminator),
    };
  }
  if (json.optimizer !== undefined && files.optimizer !== undefined) {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, t] of files.optimizer) tensors[name] = tf.tensor(t.values, t.shape, 'float32');
    loaded.optimizer = { state: json.optimizer.state, tensors };
  }
  return loaded;
}

function specOf(a: ArchitectureJson): IResNetSpec {
  return {
    family: 'iresnet',
    depth: a.depth,
    width: a.width,
    inputSize: a.inputSize,
    embeddingSize: a.embeddingSize,
  };
}
