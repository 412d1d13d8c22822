/**
 * Bring your own model: an insightface / arcface_torch iResNet from ONNX or a PyTorch state dict
 * (`.pth`, `.pt`, `.safetensors`), or a TensorFlow.js graph model (`model.json`), written as a
 * checkpoint and read back once before the import is reported done. `gabn import onnx|pytorch|
 * tfjs-graph` and the app's 'import-model' job both call this.
 */
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { loadEngine, tf } from '../../engine/index.ts';
import { loadEmbedder } from '../../models/embedder.ts';
import type { InputNormalisation } from '../../models/importers/input-normalisation.ts';
import { importIResNet, writeImportedIResNet } from '../../models/importers/iresnet-import.ts';
import { importTfjsGraph, writeTfjsGraphCheckpoint } from '../../models/importers/tfjs-graph.ts';

export type ImportFormat = 'onnx' | 'pytorch' | 'tfjs-graph';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['onnx', 'pytorch', 'tfjs-graph'];

export interface ImportRequest {
  readonly format: ImportFormat;
  readonly source: string;
  readonly out: string;
  readonly force?: boolean;
  /** iResNets: `--arch r50`, checked against the blocks found. */
  readonly depth?: number;
  readonly inputSize?: number;
  /** What the source expects of its pixels, when the file does not say or says it wrongly. */
  readonly normalisation?: Partial<InputNormalisation>;
}

export interface ImportOutcome {
  readonly out: string;
  readonly format: ImportFormat;
  readonly family: string;
  readonly architecture: string;
  readonly inputSize: number;
  readonly embeddingSize: number;
  readonly parameterCount: number;
  readonly trainable: boolean;
  /** Things the person should know about this import (folded batch norms, no head, ...). */
  readonly notes: string[];
}

export interface ImportHooks {
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number, message: string) => void;
}

/** The format a file is in, from its name: `.onnx`, `.pth`/`.pt`/`.safetensors`, `model.json`. */
export function formatOf(file: string): ImportFormat {
  const name = path.basename(file).toLowerCase();
  if (name.endsWith('.onnx')) return 'onnx';
  if (name.endsWith('.pth') || name.endsWith('.pt') || name.endsWith('.safetensors')) return 'pytorch';
  if (name.endsWith('.json')) return 'tfjs-graph';
  throw new GabnError('usage', `'${path.basename(file)}' is not a model file GABN Studio imports`, {
    file,
    expected: 'an .onnx file, a .pth / .pt / .safetensors state dict, or a TensorFlow.js model.json',
  });
}

/** The checkpoint a model file becomes in a folder: `<folder>/<file name>.gabn`. */
export function checkpointPathFor(file: string, folder: string): string {
  const base = path.basename(file).replace(/\.(onnx|pth|pt|safetensors)$/i, '');
  const name =
    base.toLowerCase() === 'model.json'
      ? path.basename(path.dirname(path.resolve(file)))
      : base.replace(/\.json$/i, '');
  return path.join(folder, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.gabn`);
}

export async function importModel(request: ImportRequest, hooks: ImportHooks = {}): Promise<ImportOutcome> {
  const step = (done: number, message: string) => {
    hooks.signal?.throwIfAborted();
    hooks.onProgress?.(done, 3, message);
  };
  step(0, `reading ${path.basename(request.source)}`);
  await loadEngine();
  const notes: string[] = [];
  if (request.format === 'tfjs-graph') {
    const imported = await importTfjsGraph(request.source, {
      ...(request.normalisation ? { normalisation: request.normalisation } : {}),
      name: path.basename(request.out, '.gabn'),
    });
    step(1, 'writing the checkpoint');
    await writeTfjsGraphCheckpoint(request.out, imported, {
      force: request.force === true,
      importer: `gabn import tfjs-graph`,
    });
    notes.push(
      'a TensorFlow.js graph model has no identity head and is not trainable: its attention maps are pair GAMs (first-order); Grad-CAM and fine-tuning are not offered',
    );
  } else {
    const imported = await importIResNet(request.source, request.format, {
      ...(request.depth === undefined ? {} : { depth: request.depth }),
      ...(request.inputSize === undefined ? {} : { inputSize: request.inputSize }),
      ...(request.normalisation ? { normalisation: request.normalisation } : {}),
    });
    step(1, 'writing the checkpoint');
    await writeImportedIResNet(request.out, imported, {
      force: request.force === true,
      importer: `gabn import ${request.format}`,
    });
    if (imported.foldedBatchNorms.length > 0) {
      notes.push(
        `${imported.foldedBatchNorms.length} batch norms were folded into their convolutions in the source: audits and GAMs are exact; a fine-tune re-estimates their statistics (import the unfolded .pth to fine-tune from the original)`,
      );
    }
    notes.push(
      'no identity head (the source has none): the GAM is the pair GAM until a fine-tune trains a head',
    );
  }
  step(2, 'checking the checkpoint');
  const embedder = await loadEmbedder(request.out);
  try {
    const size = embedder.inputSize;
    const e = tf.tidy(() => embedder.model.embed(tf.zeros([1, size, size, 3]) as tf.Tensor4D));
    const values = await e.data();
    e.dispose();
    if (!values.every(Number.isFinite)) {
      throw new GabnError('checkpoint', 'the imported network gives a non-finite embedding', {
        file: request.out,
        expected: 'finite embeddings',
      });
    }
    step(3, 'imported');
    return {
      out: request.out,
      format: request.format,
      family: embedder.family,
      architecture: embedder.architecture,
      inputSize: embedder.inputSize,
      embeddingSize: embedder.embeddingSize,
      parameterCount: (embedder.json as { parameterCount: number }).parameterCount,
      trainable: embedder.trainable,
      notes,
    };
  } finally {
    embedder.dispose();
  }
}
