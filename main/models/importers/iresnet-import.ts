/**
 * Imports an insightface / arcface_torch iResNet from an ONNX file, a PyTorch state dict (`.pth`,
 * `.pt`) or a `.safetensors` file, and writes it as an ordinary iResNet checkpoint: every GAM,
 * Grad-CAM, audit and fine-tuning path then works on it as on a network GABN Studio trained.
 *
 * The source's input normalisation (read from the graph, given by the user, or arcface_torch's
 * (p − 127.5) / 127.5 RGB by default) is folded into conv1's kernel so that the checkpoint takes the
 * project's (p − 127.5) / 128 as every checkpoint does; provenance records what the source expected,
 * where that came from, and what was folded.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { sha256Hex } from '../../base/hashing.ts';
import { saveCheckpoint } from '../checkpoint.ts';
import { checkCheckpointTarget } from '../checkpoint-folder.ts';
import type { JsonObject } from '../checkpoint-schema.ts';
import { iresnetLayout } from '../iresnet.ts';
import { type IResNetSpec, specName } from '../iresnet-spec.ts';
import { disposeParams, paramsFromValues } from '../parameters.ts';
import {
  ARCFACE_TORCH_NORMALISATION,
  checkNormalisation,
  foldIntoStem,
  type InputNormalisation,
} from './input-normalisation.ts';
import { mapStateDict, type StateDict } from './iresnet-state-dict.ts';
import { readOnnxGraph } from './onnx-graph.ts';
import { recogniseIResNet } from './onnx-iresnet.ts';
import { readPytorchStateDict } from './pytorch.ts';
import { readSafetensors } from './safetensors.ts';

export type IResNetSourceFormat = 'onnx' | 'pytorch';

export interface IResNetImportOptions {
  /** `--arch r50`: checked against the blocks found. */
  readonly depth?: number;
  readonly inputSize?: number;
  /** What the user says the source expects (overrides what is read or assumed). */
  readonly normalisation?: Partial<InputNormalisation>;
}

export interface ImportedIResNet {
  readonly spec: IResNetSpec;
  readonly values: Map<string, Float32Array>;
  readonly foldedBatchNorms: readonly string[];
  /** provenance.data.import of the checkpoint. */
  readonly provenance: JsonObject;
}

export async function readSourceFile(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    throw new GabnError('missing-file', `cannot read the model: ${(error as Error).message}`, {
      file,
      expected: 'a readable model file',
      cause: error,
    });
  }
}

/** Reads, recognises, checks and converts; writes nothing. */
export async function importIResNet(
  file: string,
  format: IResNetSourceFormat,
  options: IResNetImportOptions = {},
): Promise<ImportedIResNet> {
  const bytes = await readSourceFile(file);
  let dict: StateDict;
  let base: InputNormalisation = ARCFACE_TORCH_NORMALISATION;
  let normalisationSource = 'arcface_torch default: (p − 127.5) / 127.5, RGB';
  let inGraph: { scale: number[]; offset: number[] } | undefined;
  let inputSize = options.inputSize;
  const source: JsonObject = { file: path.basename(file), bytes: bytes.length, sha256: sha256Hex(bytes) };
  if (format === 'onnx') {
    const graph = readOnnxGraph(bytes, file);
    const found = recogniseIResNet(graph, file);
    dict = found.stateDict;
    const [, channels, h, w] = graph.input.dims;
    if (channels !== 3 && channels !== '?') {
      throw new GabnError(
        'malformed',
        `the graph input '${graph.input.name}' is [${graph.input.dims.join(', ')}]`,
        {
          file,
          expected: 'an NCHW image input [N, 3, H, W]',
        },
      );
    }
    if (typeof h === 'number' && typeof w === 'number') {
      if (h !== w) {
        throw new GabnError('malformed', `the graph takes ${h}×${w} images`, {
          file,
          expected: 'square faces',
        });
      }
      if (inputSize !== undefined && inputSize !== h) {
        throw new GabnError('usage', `--input-size ${inputSize}, but the graph takes ${h}×${h} images`, {
          file,
          expected: `--input-size ${h}, or no --input-size`,
        });
      }
      inputSize = h;
    }
    if (found.inGraph) {
      // insightface's converted graphs take pixels and normalise inside (its arcface_onnx.py: mean 0, std 1).
      inGraph = found.inGraph;
      base = { colour: 'RGB', mean: [0, 0, 0], std: [1, 1, 1] };
      normalisationSource = 'inside the graph (Sub/Mul nodes): the graph takes pixels 0..255, RGB';
    }
    Object.assign(source, {
      format: 'onnx',
      producer: graph.producer,
      opset: graph.opset,
      irVersion: graph.irVersion,
      input: { name: graph.input.name, dims: graph.input.dims },
      output: graph.output,
      ...(found.epsilons.length > 0 ? { batchNormEpsilons: found.epsilons } : {}),
    });
  } else if (file.toLowerCase().endsWith('.safetensors')) {
    const read = readSafetensors(bytes, file);
    dict = read.tensors;
    Object.assign(source, { format: 'safetensors', metadata: read.metadata });
  } else {
    const read = readPytorchStateDict(bytes, file);
    dict = read.tensors;
    Object.assign(source, { format: 'pytorch-zip', archive: read.archive, storageTypes: read.storageTypes });
  }
  const asked = options.normalisation ?? {};
  const given = checkNormalisation(
    {
      colour: asked.colour ?? base.colour,
      mean: asked.mean ?? base.mean,
      std: asked.std ?? base.std,
    },
    file,
  );
  if (Object.keys(asked).length > 0)
    normalisationSource = `given on import (${Object.keys(asked).join(', ')})`;
  // What conv1 itself sees, with the graph's own normalisation composed in: (p − mean') / std'.
  const effective: InputNormalisation = inGraph
    ? {
        colour: given.colour,
        std: given.std.map((s, c) => s / inGraph.scale[c]!) as [number, number, number],
        mean: given.mean.map((m, c) => m - (inGraph.offset[c]! * given.std[c]!) / inGraph.scale[c]!) as [
          number,
          number,
          number,
        ],
      }
    : given;
  const mapped = mapStateDict(dict, {
    file,
    ...(options.depth === undefined ? {} : { depth: options.depth }),
    ...(inputSize === undefined ? {} : { inputSize }),
  });
  const stem = mapped.values.get('conv1.weight')!;
  const stemShape = iresnetLayout(mapped.spec).find((t) => t.name === 'conv1.weight')!.shape;
  mapped.values.set('conv1.weight', foldIntoStem(stem, stemShape, effective, file));
  return {
    spec: mapped.spec,
    values: mapped.values,
    foldedBatchNorms: mapped.foldedBatchNorms,
    provenance: {
      kind: 'import',
      source,
      architecture: specName(mapped.spec),
      batchNorm: {
        form: mapped.foldedBatchNorms.length > 0 ? 'folded' : 'unfolded',
        folded: [...mapped.foldedBatchNorms],
        note:
          mapped.foldedBatchNorms.length > 0
            ? 'batch norms folded into their convolutions in the source are restored as the affine that adds the bias (mean 0, variance 1 - eps): eval mode is exact; their statistics are lost, so training re-estimates them from batches'
            : 'every batch norm read with its statistics',
      },
      preprocessing: {
        colour: given.colour,
        pixelRange: '0..255',
        mean: [...given.mean],
        std: [...given.std],
        from: normalisationSource,
        ...(inGraph ? { inGraph: { scale: inGraph.scale, offset: inGraph.offset } } : {}),
        folded:
          'conv1.weight is scaled per input channel (and reordered for BGR) so that the checkpoint takes (p - 127.5) / 128, RGB',
      },
    },
  };
}

/** Writes the import as an iResNet checkpoint; the engine must be loaded (the save goes through tensors). */
export async function writeImportedIResNet(
  out: string,
  imported: ImportedIResNet,
  options: { force?: boolean; importer: string },
): Promise<void> {
  // saveCheckpoint then replaces only a checkpoint.
  await checkCheckpointTarget(out, { replace: options.force === true });
  const params = paramsFromValues(iresnetLayout(imported.spec), imported.values);
  try {
    await saveCheckpoint(out, {
      model: { spec: imported.spec, params },
      groups: [],
      classCount: 0,
      provenance: { data: { import: imported.provenance }, config: { importer: options.importer } },
    });
  } finally {
    disposeParams(params);
  }
}
