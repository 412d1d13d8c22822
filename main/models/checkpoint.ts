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
