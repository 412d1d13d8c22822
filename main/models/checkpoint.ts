/**
 * Checkpoints (DESIGN.md §4, docs/checkpoints.md): a directory `<name>.gabn/` holding
 * `checkpoint.json` (format version, architecture, groups, classes, provenance and tfjs weights
 * manifests) and the tensors: `weights.bin` (the face network), optionally `head.bin`,
 * `discriminator.bin` and `optimizer.bin` for resuming a run. Written atomically; read back only
 * after every field, file, name, shape, byte count and value has been checked.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { writeDirectoryAtomically } from '../base/staged-directory.ts';
import { softwareVersion } from '../base/version.ts';
import { tf } from '../engine/tf.ts';
import {
  type ArchitectureJson,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_JSON,
  type CheckpointJson,
  isIResNetArchitecture,
  type JsonObject,
  type JsonValue,
  parseCheckpointJson,
  type ValidateOptions,
  type WeightsManifestGroup,
} from './checkpoint-schema.ts';
import { type Discriminator, discriminatorLayout, discriminatorSpec } from './discriminator.ts';
import { FLOAT16_MAX, float16ArrayToFloat32, float32ArrayToFloat16 } from './float16.ts';
import { type IResNet, iresnetLayout, iresnetParameterCount } from './iresnet.ts';
import { type IResNetSpec, specName } from './iresnet-spec.ts';
import { type MarginHead, type MarginOptions, marginHeadLayout, PAPER_MARGIN } from './margin-head.ts';
import { type ParamMap, parameterCount, paramsFromValues, sizeOf, type TensorLayout } from './parameters.ts';

export const WEIGHTS_FILE = 'weights.bin';
export const HEAD_FILE = 'head.bin';
export const DISCRIMINATOR_FILE = 'discriminator.bin';
export const OPTIMIZER_FILE = 'optimizer.bin';

export interface ProvenanceInput {
  readonly data?: JsonObject;
  readonly config?: JsonObject;
  readonly metrics?: JsonObject;
  /** Defaults to the time of saving. */
  readonly createdAt?: string;
}

export interface OptimizerState {
  /** Everything that is not a tensor (kind, learning rate, step, epoch, RNG state...). */
  readonly state: JsonValue;
  /** Slot tensors by name, e.g. `momentum/layer1.0.conv1.weight`. */
  readonly tensors: Record<string, tf.Tensor>;
}

/** A checkpoint in memory. */
export interface Checkpoint {
  readonly model: IResNet;
  /** Demographic group names, in the discriminator's output order. */
  readonly groups: readonly string[];
  /** Identities of the training set (the head's classes). */
  readonly classCount: number;
  readonly provenance: ProvenanceInput;
  readonly head?: MarginHead;
  /** The margin the head was trained with (default: the paper's ArcFace s = 64, m = 0.35). */
  readonly margin?: MarginOptions;
  readonly discriminator?: Discriminator;
  readonly optimizer?: OptimizerState;
}

/** A loaded checkpoint: the written description plus live tensors. */
export interface LoadedCheckpoint extends Checkpoint {
  readonly json: CheckpointJson;
}

export interface SaveOptions {
  /** float16 halves the files; values are rounded to nearest-even (max relative error 2^-11). */
  readonly storage?: 'float32' | 'float16';
}

interface NamedValues {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

async function valuesOf(
  layout: readonly TensorLayout[],
  params: ParamMap,
  what: string,
): Promise<NamedValues[]> {
  const out: NamedValues[] = [];
  for (const entry of layout) {
    const tensor = params[entry.name];
    if (tensor === undefined) throw new GabnError('internal', `${what} has no tensor '${entry.name}'`);
    if (tensor.shape.join(',') !== entry.shape.join(',')) {
      throw new GabnError(
        'internal',
        `${what} tensor '${entry.name}' is [${tensor.shape}], expected [${entry.shape}]`,
      );
    }
    out.push({ name: entry.name, shape: entry.shape, values: (await tensor.data()) as Float32Array });
  }
  return out;
}

function encode(tensors: readonly NamedValues[], file: string, storage: 'float32' | 'float16') {
  const chunks: Uint8Array[] = [];
  const weights = tensors.map(({ name, shape, values }) => {
    let fitsHalf = true;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) {
        throw new GabnError('checkpoint', `tensor '${name}' holds ${v} at index ${i}: refusing to save it`, {
          file,
          expected: 'finite weights (the run diverged; keep the last good checkpoint)',
        });
      }
      // Rounding up to 65520 and beyond gives Infinity in float16.
      if (Math.abs(v) >= FLOAT16_MAX + 16) fitsHalf = false;
    }
    // float16 storage keeps a tensor in float32 when a value is beyond float16's range (batch-norm
    // running variances can be): the manifest says so per tensor.
    const half = storage === 'float16' && fitsHalf;
    const data = half ? float32ArrayToFloat16(values) : values;
    chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return half
      ? { name, shape: [...shape], dtype: 'float32' as const, quantization: { dtype: 'float16' as const } }
      : { name, shape: [...shape], dtype: 'float32' as const };
  });
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const manifest: WeightsManifestGroup[] = [{ paths: [file], weights }];
  return { bytes, manifest };
}

/**
 * Writes `checkpoint` to directory `dir` (named `<name>.gabn`) atomically: a reader, or a crash,
 * sees the previous checkpoint or the complete new one. An existing directory is replaced only if it
 * is itself a checkpoint.
 */
export async function saveCheckpoint(
  dir: string,
  checkpoint: Checkpoint,
  options: SaveOptions = {},
): Promise<CheckpointJson> {
  if (path.extname(dir) !== '.gabn') {
    throw new GabnError('usage', `a checkpoint directory must be named <name>.gabn, got '${dir}'`, {
      expected: 'a path ending in .gabn',
    });
  }
  // Resolving drops a trailing separator, so `runs/a.gabn/` names the same directory as `runs/a.gabn`.
  const target = path.resolve(dir);
  const storage = options.storage ?? 'float32';
  const { model, groups, classCount } = checkpoint;
  const spec = model.spec;
  const layout = iresnetLayout(spec);
  const files = new Map<string, Uint8Array>();
  const weights = encode(await valuesOf(layout, model.params, 'the face network'), WEIGHTS_FILE, storage);
  files.set(WEIGHTS_FILE, weights.bytes);
  const p = checkpoint.provenance;
  const json: {
    -readonly [K in keyof CheckpointJson]: CheckpointJson[K];
  } = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    architecture: { ...spec, name: specName(spec) },
    inputSize: spec.inputSize,
    embeddingSize: spec.embeddingSize,
    parameterCount: parameterCount(layout),
    groups: [...groups],
    classCount,
    provenance: {
      data: p.data ?? {},
      config: p.config ?? {},
      softwareVersion: softwareVersion().version,
      createdAt: p.createdAt ?? new Date().toISOString(),
      metrics: p.metrics ?? {},
    },
    weights: weights.manifest,
  };
  if (checkpoint.head !== undefined) {
    const head = checkpoint.head;
    if (head.embeddingSize !== spec.embeddingSize || head.classes !== classCount) {
      throw new GabnError(
        'internal',
        `head is ${head.embeddingSize}×${head.classes}, checkpoint says ${spec.embeddingSize}×${classCount}`,
      );
    }
    const encoded = encode(
      await valuesOf(marginHeadLayout(head.embeddingSize, head.classes), head.params, 'the margin head'),
      HEAD_FILE,
      storage,
    );
    files.set(HEAD_FILE, encoded.bytes);
    json.head = {
      classes: head.classes,
      margin: checkpoint.margin ?? PAPER_MARGIN,
      weights: encoded.manifest,
    };
  }
  if (checkpoint.discriminator !== undefined) {
    const d = checkpoint.discriminator;
    if (d.spec.groups !== groups.length) {
      throw new GabnError(
        'internal',
        `discriminator has ${d.spec.groups} outputs for ${groups.length} groups`,
      );
    }
    const encoded = encode(
      await valuesOf(discriminatorLayout(d.spec), d.params, 'the discriminator'),
      DISCRIMINATOR_FILE,
      storage,
    );
    files.set(DISCRIMINATOR_FILE, encoded.bytes);
    json.discriminator = { ...d.spec, weights: encoded.manifest };
  }
  if (checkpoint.optimizer !== undefined) {
    const tensors: NamedValues[] = [];
    for (const [name, t] of Object.entries(checkpoint.optimizer.tensors)) {
      if (t.dtype !== 'float32') {
        throw new GabnError(
          'internal',
          `optimizer tensor '${name}' is ${t.dtype}: keep integers in optimizer.state`,
        );
      }
      tensors.push({ name, shape: t.shape, values: (await t.data()) as Float32Array });
    }
    // Optimizer slots stay float32: momentum that rounds differently changes the resumed run.
    const encoded = encode(tensors, OPTIMIZER_FILE, 'float32');
    files.set(OPTIMIZER_FILE, encoded.bytes);
    json.optimizer = { state: checkpoint.optimizer.state, weights: encoded.manifest };
  }
  files.set(CHECKPOINT_JSON, new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
  await writeDirectoryAtomically(target, files, async () => {
    const existing = await stat(target).catch(() => undefined);
    if (existing === undefined) return;
    const isCheckpoint =
      existing.isDirectory() && (await stat(path.join(target, CHECKPOINT_JSON)).catch(() => undefined));
    if (!isCheckpoint) {
      throw new GabnError('usage', `'${dir}' exists and is not a GABN checkpoint: refusing to replace it`, {
        expected: 'a new path, or an existing <name>.gabn checkpoint directory',
      });
    }
  });
  return json;
}

/** What readCheckpoint found: the description, every tensor's values, and the files' sizes. */
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
  const dirStat = await stat(dir).catch(() => undefined);
  if (dirStat === undefined) {
    throw new GabnError('missing-file', 'no such checkpoint', {
      file: dir,
      expected: 'a <name>.gabn directory',
    });
  }
  if (!dirStat.isDirectory()) {
    throw new GabnError('checkpoint', 'is a file, not a checkpoint directory', {
      file: dir,
      expected: 'a <name>.gabn directory',
    });
  }
  const jsonPath = path.join(dir, CHECKPOINT_JSON);
  const text = await readFile(jsonPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new GabnError('missing-file', `the checkpoint has no ${CHECKPOINT_JSON}`, { file: jsonPath });
    }
    throw error;
  });
  const json = parseCheckpointJson(text, jsonPath, options);
  const fileSizes: Record<string, number> = { [CHECKPOINT_JSON]: Buffer.byteLength(text) };
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
      { file: jsonPath, expected: 'the parameter count of the architecture' },
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
    const parts: Buffer[] = [];
    for (const name of group.paths) {
      const file = path.join(dir, name);
      const data = await readFile(file).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') {
          throw new GabnError('missing-file', `the checkpoint lacks ${name}, listed in ${field}`, { file });
        }
        throw error;
      });
      fileSizes[name] = data.byteLength;
      parts.push(data);
    }
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const described = group.weights.reduce((n, w) => n + sizeOf(w.shape) * (w.quantization ? 2 : 4), 0);
    if (bytes.byteLength !== described) {
      throw new GabnError(
        'checkpoint',
        `${group.paths.join(' + ')} is ${bytes.byteLength} bytes, the manifest describes ${described} bytes`,
        {
          file: path.join(dir, group.paths[0]!),
          expected: 'the file written with this checkpoint.json (truncated or replaced?)',
        },
      );
    }
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
