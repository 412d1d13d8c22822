/**
 * A checkpoint ready to embed and explain faces, whatever network it holds: the iResNet family that
 * GABN Studio trains, or an imported network (face-api). Audits, GAM extraction and the GUI use only
 * this, so they do not care which family a checkpoint is.
 *
 * TensorFlow.js graph models (importers/tfjs-graph.ts) are run as they are, by tfjs-converter: no
 * head, no last-stage cut, not trainable.
 *
 * Every embedder takes images normalised as the paper does, (p − 127.5) / 128, at its own input size;
 * a network trained with another normalisation converts inside `embed`, so gradients (the GAM) are
 * always taken with respect to the same input.
 */
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import type { AttributionModel } from './attribution-model.ts';
import { checkWeightsFiles, loadCheckpoint, readCheckpoint, readCheckpointJson } from './checkpoint.ts';
import { readFaceApiCheckpoint } from './importers/face-api-checkpoint.ts';
import {
  FACE_API_MEAN_RGB,
  FACE_API_PIXEL_DIVISOR,
  type FaceApiParams,
  faceApiEmbedFeatures,
  faceApiFeatures,
} from './importers/face-api-net.ts';
import {
  executeGraph,
  GRAPH_JSON,
  loadGraph,
  readGraphFiles,
  type TfjsGraphArchitecture,
  toGraphInput,
} from './importers/tfjs-graph.ts';
import { embedFeatures, type IResNet, lastStageFeatures } from './iresnet.ts';
import { IRESNET_STRIDE, specName } from './iresnet-spec.ts';
import type { MarginHead, MarginOptions } from './margin-head.ts';
import { disposeParams } from './parameters.ts';

export interface Embedder {
  /** e.g. 'iresnet18-w0.25-56' or 'face-api-resnet'. */
  readonly architecture: string;
  readonly family: 'iresnet' | 'face-api-resnet' | 'tfjs-graph';
  /** Whether GABN Studio can fine-tune it (only iResNets: imported graphs and face-api are audited). */
  readonly trainable: boolean;
  readonly inputSize: number;
  readonly embeddingSize: number;
  readonly parameterCount: number;
  readonly groups: readonly string[];
  readonly classCount: number;
  /**
   * The network's total stride, where its attention lattice is known (the iResNets: 16): the GAM's
   * hot pixels sit on that lattice (main/eval/attention-stats.ts, latticeShare).
   */
  readonly stride?: number;
  /** The margin the head was trained with, when there is a head. */
  readonly margin?: MarginOptions;
  /** embed (eval mode), head when the checkpoint has one, and the last-stage cut for Grad-CAM. */
  readonly model: AttributionModel;
  /** checkpoint.json as written. */
  readonly json: unknown;
  dispose(): void;
}

export async function loadEmbedder(dir: string): Promise<Embedder> {
  const json = readCheckpointJson(dir, { anyArchitecture: true });
  const kind = json.architecture.family;
  if (kind === 'face-api-resnet') {
    // Its reader reads the files the manifest lists: check them first, as every checkpoint's are.
    checkWeightsFiles(dir, json);
    return loadFaceApiEmbedder(dir);
  }
  if (kind === 'tfjs-graph') return loadTfjsGraphEmbedder(dir);
  const checkpoint = await loadCheckpoint(dir);
  return iresnetEmbedder({
    net: checkpoint.model,
    ...(checkpoint.head ? { head: checkpoint.head } : {}),
    groups: checkpoint.groups,
    classCount: checkpoint.classCount,
    ...(checkpoint.margin ? { margin: checkpoint.margin } : {}),
    json: checkpoint.json,
    dispose: () => {
      disposeParams(checkpoint.model.params);
      if (checkpoint.head) disposeParams(checkpoint.head.params);
      if (checkpoint.discriminator) disposeParams(checkpoint.discriminator.params);
      for (const t of Object.values(checkpoint.optimizer?.tensors ?? {})) t.dispose();
    },
  });
}

export interface IResNetEmbedderParts {
  readonly net: IResNet;
  readonly head?: MarginHead;
  readonly groups: readonly string[];
  readonly classCount: number;
  readonly margin?: MarginOptions;
  readonly json: unknown;
  /** What disposing the embedder frees: the checkpoint's tensors, or nothing for a network in training. */
  readonly dispose: () => void;
}

/**
 * An iResNet in eval mode as an embedder. Training validates its live network through this, so the
 * epoch's figures come from the same weights the epoch checkpoint then holds, without reading it back.
 */
export function iresnetEmbedder(parts: IResNetEmbedderParts): Embedder {
  const { net } = parts;
  const eval_ = { training: false } as const;
  const head = parts.head?.params.weight;
  return {
    architecture: specName(net.spec),
    family: 'iresnet',
    stride: IRESNET_STRIDE,
    trainable: true,
    inputSize: net.spec.inputSize,
    embeddingSize: net.spec.embeddingSize,
    parameterCount: Object.values(net.params).reduce((n, t) => n + t.size, 0),
    groups: parts.groups,
    classCount: parts.classCount,
    ...(parts.margin ? { margin: parts.margin } : {}),
    model: {
      embed: (x) => embedFeatures(net, lastStageFeatures(net, x, eval_), eval_),
      ...(head ? { head: { weight: head as tf.Tensor2D } } : {}),
      stages: {
        features: (x) => lastStageFeatures(net, x, eval_),
        embedFeatures: (features) => embedFeatures(net, features, eval_),
      },
    },
    json: parts.json,
    dispose: parts.dispose,
  };
}

/**
 * face-api's network wants (p − mean_rgb) / 255 at 150×150. From the project's x = (p − 127.5) / 128
 * that is (128·x + 127.5 − mean_rgb) / 255: an affine map, so the GAM is still taken with respect to
 * the project's normalised image.
 */
function fromProjectNormalisation(x: tf.Tensor4D): tf.Tensor4D {
  const offset = tf.tensor1d(FACE_API_MEAN_RGB.map((m) => (127.5 - m) / FACE_API_PIXEL_DIVISOR));
  return tf.add(tf.mul(x, 128 / FACE_API_PIXEL_DIVISOR), offset);
}

async function loadFaceApiEmbedder(dir: string): Promise<Embedder> {
  const { json, weights } = await readFaceApiCheckpoint(dir);
  const params: Record<string, tf.Tensor> = {};
  for (const w of weights) params[w.name] = tf.tensor(w.values, [...w.shape], 'float32');
  const frozen = params as FaceApiParams;
  return {
    architecture: json.architecture.name,
    family: 'face-api-resnet',
    trainable: false,
    inputSize: json.inputSize,
    embeddingSize: json.embeddingSize,
    parameterCount: json.parameterCount,
    groups: json.groups,
    classCount: 0,
    model: {
      embed: (x) => faceApiEmbedFeatures(frozen, faceApiFeatures(frozen, fromProjectNormalisation(x))),
      stages: {
        features: (x) => faceApiFeatures(frozen, fromProjectNormalisation(x)),
        embedFeatures: (features) => faceApiEmbedFeatures(frozen, features),
      },
    },
    json,
    dispose: () => {
      for (const t of Object.values(params)) t.dispose();
    },
  };
}

/** A TensorFlow.js graph model: the embedding is the graph's output on the converted input. */
async function loadTfjsGraphEmbedder(dir: string): Promise<Embedder> {
  const files = await readCheckpoint(dir, { anyArchitecture: true });
  const architecture = files.json.architecture as unknown as TfjsGraphArchitecture;
  const modelFile = path.join(dir, GRAPH_JSON);
  const { json, weights } = await readGraphFiles(modelFile);
  const graph = await loadGraph(json, weights, modelFile);
  const embed = (x: tf.Tensor4D) =>
    executeGraph(
      graph,
      toGraphInput(x, architecture.normalisation),
      architecture.outputNode,
      json,
      modelFile,
    ) as tf.Tensor2D;
  return {
    architecture: architecture.name,
    family: 'tfjs-graph',
    trainable: false,
    inputSize: architecture.inputSize,
    embeddingSize: architecture.embeddingSize,
    parameterCount: files.json.parameterCount,
    groups: files.json.groups,
    classCount: 0,
    model: { embed },
    json: files.json,
    dispose: () => graph.dispose(),
  };
}
