import { GabnError } from '../base/errors.ts';
import { softwareVersion } from '../base/version.ts';
import {
  type Checkpoint,
  DISCRIMINATOR_FILE,
  HEAD_FILE,
  OPTIMIZER_FILE,
  type SaveOptions,
  WEIGHTS_FILE,
} from './checkpoint-files.ts';
import { checkCheckpointTarget, writeCheckpointFolder } from './checkpoint-folder.ts';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_JSON,
  type CheckpointJson,
  type WeightsManifestGroup,
} from './checkpoint-schema.ts';
import { discriminatorLayout } from './discriminator.ts';
import { FLOAT16_MAX, float32ArrayToFloat16 } from './float16.ts';
import { iresnetLayout } from './iresnet.ts';
import { specName } from './iresnet-spec.ts';
import { marginHeadLayout, PAPER_MARGIN } from './margin-head.ts';
import { type ParamMap, parameterCount, type TensorLayout } from './parameters.ts';

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
  await checkCheckpointTarget(dir, { replace: true });
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
  // A checkpoint is replaced (a run's epoch written again after a resume); anything else is refused.
  await writeCheckpointFolder(dir, files, { replace: true });
  return json;
}

/** What readCheckpoint found: the description, every tensor's values, and the files' sizes. */
