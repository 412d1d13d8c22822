import path from 'node:path';
import { type GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { GabnError } from '../../base/errors.ts';
import { sha256Hex } from '../../base/hashing.ts';
import { decodeUtf8Text, MAX_TEXT_BYTES, readUntrustedFile } from '../../base/untrusted-files.ts';
import { softwareVersion } from '../../base/version.ts';
import { tf } from '../../engine/tf.ts';
import { checkCheckpointTarget, writeCheckpointFolder } from '../checkpoint-folder.ts';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_JSON,
  type JsonObject,
} from '../checkpoint-schema.ts';
import { checkNormalisation, type InputNormalisation, inputAffine } from './input-normalisation.ts';

export const GRAPH_JSON = 'model.json';
export const GRAPH_WEIGHTS = 'graph.bin';

/** What most tfjs face models take: pixels / 255, RGB (as @vladmandic/human feeds them). */
export const UNIT_RANGE_NORMALISATION: InputNormalisation = {
  colour: 'RGB',
  mean: [0, 0, 0],
  std: [255, 255, 255],
};

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  userDefinedMetadata?: Record<string, unknown>;
  modelTopology: { node: { name: string; op: string }[] } & Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

export interface TfjsGraphArchitecture {
  readonly family: 'tfjs-graph';
  readonly name: string;
  readonly inputSize: number;
  readonly embeddingSize: number;
  readonly inputNode: string;
  readonly outputNode: string;
  readonly normalisation: InputNormalisation;
  readonly trainable: false;
}

const EXPECTED =
  'a TensorFlow.js graph model: model.json with "modelTopology" and "weightsManifest", shards beside it';
const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function parseModelJson(text: string, file: string): ModelJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const at = /position (\d+)/.exec((error as Error).message);
    throw new GabnError('malformed', `not valid JSON: ${(error as Error).message}`, {
      file,
      ...(at ? { line: text.slice(0, Number(at[1])).split('\n').length } : {}),
      expected: EXPECTED,
    });
  }
  const m = json as Partial<ModelJson>;
  if (m?.format !== undefined && m.format !== 'graph-model') {
    throw new GabnError('malformed', `format is '${String(m.format)}', not a graph model`, {
      file,
      expected: `${EXPECTED} (a layers model cannot be imported: convert it to a graph model)`,
    });
  }
  if (!Array.isArray(m?.modelTopology?.node) || !Array.isArray(m.weightsManifest)) {
    throw new GabnError('malformed', 'model.json lacks modelTopology.node or weightsManifest', {
      file,
      expected: EXPECTED,
    });
  }
  for (const group of m.weightsManifest) {
    for (const p of group.paths ?? []) {
      if (typeof p !== 'string' || p === '' || path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) {
        throw new GabnError('malformed', `a weight shard path '${String(p)}' leaves the model's folder`, {
          file,
          expected: 'shard file names relative to model.json',
        });
      }
    }
  }
  return m as ModelJson;
}

function entryBytes(w: tf.io.WeightsManifestEntry): number {
  const dtype = w.quantization?.dtype ?? w.dtype;
  return w.shape.reduce((a, b) => a * b, 1) * (BYTES[dtype] ?? 0);
}

/** Reads model.json and its shards: the topology, the weight specs and their bytes, joined. */
export async function readGraphFiles(
  file: string,
): Promise<{ json: ModelJson; weights: Uint8Array; text: string }> {
  // A graph model comes from elsewhere: read as untrusted (regular files of bounded size, its
  // shards inside its folder and never more bytes than the manifest describes).
  const text = decodeUtf8Text(
    readUntrustedFile(file, { what: path.basename(file), maxBytes: MAX_TEXT_BYTES, expected: EXPECTED }),
    file,
    path.basename(file),
  );
  const json = parseModelJson(text, file);
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    const described = group.weights.reduce((n, w) => n + entryBytes(w), 0);
    const chunks = group.paths.map((shard) =>
      readUntrustedFile(path.join(path.dirname(file), shard), {
        what: `weight shard '${shard}'`,
        maxBytes: described,
        inside: path.dirname(file),
        expected: `the shards listed in ${path.basename(file)}`,
      }),
    );
    const bytes = Buffer.concat(chunks);
    if (bytes.length !== described) {
      throw new GabnError(
        'malformed',
        `${group.paths.join(' + ')} is ${bytes.length} bytes, the manifest describes ${described}`,
        {
          file,
          expected: 'the shards written with this model.json (truncated or replaced?)',
        },
      );
    }
    parts.push(bytes);
  }
  return { json, weights: Buffer.concat(parts), text };
}

/** Loads the graph with tfjs-converter from memory (nothing is fetched). */
export async function loadGraph(json: ModelJson, weights: Uint8Array, file: string): Promise<GraphModel> {
  try {
    return await loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        // A copy: a Buffer may be a view into a larger pooled ArrayBuffer.
        weightData: new Uint8Array(weights).buffer,
        ...(json.format ? { format: json.format } : {}),
      }),
    );
  } catch (error) {
    throw new GabnError('malformed', `tfjs cannot load the graph: ${(error as Error).message}`, {
      file,
      expected: EXPECTED,
    });
  }
}

/** Runs the graph, turning an unsupported op into an error that names the nodes that use it. */
export function executeGraph(
  model: GraphModel,
  x: tf.Tensor4D,
  outputNode: string,
  json: ModelJson,
  file: string,
): tf.Tensor {
  try {
    return model.execute(x, outputNode) as tf.Tensor;
  } catch (error) {
    const message = (error as Error).message;
    const found = /Op is not supported: (\S+)|Unknown op '([^']+)'/.exec(message);
    const op = found?.[1] ?? found?.[2];
    const nodes =
      op === undefined ? [] : json.modelTopology.node.filter((n) => n.op === op).map((n) => n.name);
    throw new GabnError(
      'malformed',
      op === undefined
        ? `the graph cannot run: ${message}`
        : `node '${nodes[0] ?? '?'}' (op ${op}) is not supported by TensorFlow.js${nodes.length > 1 ? ` (and ${nodes.length - 1} more node(s))` : ''}`,
      { file, expected: 'a graph of ops that @tensorflow/tfjs-converter 4.22 runs' },
    );
  }
}

/** The graph's input in terms of the project's x: (128·x + 127.5 − mean) / std, channels reordered. */
export function toGraphInput(x: tf.Tensor4D, n: InputNormalisation): tf.Tensor4D {
  const a = inputAffine(n);
  const ordered = n.colour === 'BGR' ? tf.reverse(x, 3) : x;
  return tf.add(tf.mul(ordered, tf.tensor1d([...a.scale])), tf.tensor1d([...a.offset])) as tf.Tensor4D;
}

export interface TfjsGraphImport {
  readonly architecture: TfjsGraphArchitecture;
  readonly parameterCount: number;
  readonly modelJson: Uint8Array;
  readonly weights: Uint8Array;
  readonly provenance: JsonObject;
}

/** Reads, loads and tries the graph once; the engine must be loaded. */
export async function importTfjsGraph(
  file: string,
  options: { normalisation?: Partial<InputNormalisation>; name?: string } = {},
): Promise<TfjsGraphImport> {
  const { json, weights, text } = await readGraphFiles(file);
  const model = await loadGraph(json, weights, file);
  try {
    const inputs = model.inputs;
    const shape = inputs[0]?.shape ?? [];
    if (
      inputs.length !== 1 ||
      shape.length !== 4 ||
      shape[3] !== 3 ||
      !(shape[1]! > 0) ||
      shape[1] !== shape[2]
    ) {
      throw new GabnError(
        'malformed',
        `the graph's inputs are ${JSON.stringify(inputs.map((i) => [i.name, i.shape]))}`,
        {
          file,
          expected: 'one NHWC image input [N, S, S, 3] of a known size S',
        },
      );
    }
    if (model.outputs.length !== 1) {
      throw new GabnError('malformed', `the graph has ${model.outputs.length} outputs`, {
        file,
        expected: 'one embedding output',
      });
    }
    const inputSize = shape[1]!;
    const outputNode = model.outputs[0]!.name;
    const normalisation = checkNormalisation(
      {
        colour: options.normalisation?.colour ?? UNIT_RANGE_NORMALISATION.colour,
        mean: options.normalisation?.mean ?? UNIT_RANGE_NORMALISATION.mean,
        std: options.normalisation?.std ?? UNIT_RANGE_NORMALISATION.std,
      },
      file,
    );
    const trial = tf.tidy(() =>
      executeGraph(model, tf.zeros([1, inputSize, inputSize, 3]) as tf.Tensor4D, outputNode, json, file),
    );
    const values = await trial.data();
    const outShape = trial.shape;
    trial.dispose();
    if (outShape.length !== 2 || outShape[0] !== 1 || !values.every(Number.isFinite)) {
      throw new GabnError('malformed', `the graph's output '${outputNode}' is [${outShape.join(', ')}]`, {
        file,
        expected: 'one finite embedding [N, D] per image',
      });
    }
    const parameterCount = json.weightsManifest
      .flatMap((g) => g.weights)
      .filter((w) => w.dtype === 'float32')
      .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    const name = options.name ?? path.basename(path.dirname(path.resolve(file)));
    const graphJson = {
      ...json,
      weightsManifest: [{ paths: [GRAPH_WEIGHTS], weights: json.weightsManifest.flatMap((g) => g.weights) }],
    };
    return {
      architecture: {
        family: 'tfjs-graph',
        name,
        inputSize,
        embeddingSize: outShape[1]!,
        inputNode: inputs[0]!.name,
        outputNode,
        normalisation,
        trainable: false,
      },
      parameterCount,
      modelJson: new TextEncoder().encode(`${JSON.stringify(graphJson)}\n`),
      weights,
      provenance: {
        kind: 'import',
        source: {
          format: 'tfjs-graph-model',
          file: path.basename(file),
          modelJsonSha256: sha256Hex(text),
          weightsSha256: sha256Hex(weights),
          weightsBytes: weights.length,
          generatedBy: String(json.generatedBy ?? ''),
          convertedBy: String(json.convertedBy ?? ''),
          nodes: json.modelTopology.node.length,
        },
        preprocessing: {
          colour: normalisation.colour,
          pixelRange: '0..255',
          mean: [...normalisation.mean],
          std: [...normalisation.std],
          from:
            options.normalisation && Object.keys(options.normalisation).length > 0
              ? 'given on import'
              : 'default: pixels / 255, RGB',
        },
        limits:
          'a graph model is run as it is: no identity head, no last-stage cut (no Grad-CAM), not trainable; attention maps are pair GAMs',
      },
    };
  } finally {
    model.dispose();
  }
}

/** Writes the graph checkpoint atomically: checkpoint.json, model.json and graph.bin. */
export async function writeTfjsGraphCheckpoint(
  out: string,
  imported: TfjsGraphImport,
  options: { force?: boolean; importer: string },
): Promise<void> {
  const replace = { replace: options.force === true };
  await checkCheckpointTarget(out, replace);
  const json = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    architecture: imported.architecture,
    inputSize: imported.architecture.inputSize,
    embeddingSize: imported.architecture.embeddingSize,
    parameterCount: imported.parameterCount,
    groups: [],
    classCount: 0,
    provenance: {
      data: { import: imported.provenance },
      config: { importer: options.importer },
      softwareVersion: softwareVersion().version,
      createdAt: new Date().toISOString(),
      metrics: {},
    },
    // The graph keeps its own manifest in model.json.
    weights: [],
  };
  const files = new Map<string, Uint8Array>([
    [CHECKPOINT_JSON, new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`)],
    [GRAPH_JSON, imported.modelJson],
    [GRAPH_WEIGHTS, imported.weights],
  ]);
  await writeCheckpointFolder(out, files, replace);
}
