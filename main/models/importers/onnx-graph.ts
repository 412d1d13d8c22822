/**
 * An ONNX model file as plain data: its nodes (op, inputs, outputs, attributes), its constants
 * (initializers and Constant nodes, as float32, with Unsqueeze/Reshape/Identity of constants worked
 * out), its one image input and its output. Decoded with onnx-proto (ONNX's protobuf schema for
 * protobufjs). Only what an inference graph of a face network holds is accepted: external data, an
 * op of another domain, or an op the importer does not know is an error naming the node and the op.
 */
import onnxProto from 'onnx-proto';
import { GabnError } from '../../base/errors.ts';
import { float16ArrayToFloat32 } from '../float16.ts';
import type { SourceTensor } from './iresnet-state-dict.ts';

const { onnx } = onnxProto;
type Long = { toNumber(): number };

/** The ops an insightface or arcface_torch face network is made of, and their constants. */
export const KNOWN_OPS = [
  'Conv',
  'BatchNormalization',
  'PRelu',
  'Add',
  'Flatten',
  'Reshape',
  'Gemm',
  'MatMul',
  'Sub',
  'Mul',
  'Div',
  'Constant',
  'Identity',
  'Dropout',
  'Unsqueeze',
  'Squeeze',
] as const;

export type Attribute = number | number[] | string | SourceTensor;

export interface OnnxNode {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, Attribute>;
}

export interface OnnxGraph {
  readonly nodes: readonly OnnxNode[];
  readonly constants: ReadonlyMap<string, SourceTensor>;
  readonly input: { readonly name: string; readonly dims: readonly (number | string)[] };
  readonly output: string;
  readonly producer: string;
  readonly opset: number;
  readonly irVersion: number;
}

const EXPECTED = 'an ONNX model file (a ModelProto) of a face recognition network';

function int(v: number | Long | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** What a node is called in messages: its name, or its first output when it has none. */
export function nodeLabel(node: OnnxNode): string {
  return `node '${node.name || node.outputs[0] || '?'}' (op ${node.op})`;
}

function tensorValues(t: onnxProto.onnx.ITensorProto, file: string): SourceTensor {
  const name = t.name || '(unnamed tensor)';
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new GabnError('malformed', `initializer '${name}' keeps its data in an external file`, {
      file,
      expected: 'a self-contained .onnx file (weights inside the model)',
    });
  }
  const shape = (t.dims ?? []).map(int);
  const count = shape.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : undefined;
  const view = raw ? new DataView(raw.buffer) : undefined;
  const Type = onnx.TensorProto.DataType;
  let values: Float32Array;
  switch (t.dataType) {
    case Type.FLOAT:
      values = raw
        ? new Float32Array(raw.buffer, 0, Math.floor(raw.length / 4))
        : Float32Array.from(t.floatData ?? []);
      break;
    case Type.DOUBLE:
      values = raw
        ? Float32Array.from({ length: raw.length / 8 }, (_, i) => view!.getFloat64(i * 8, true))
        : Float32Array.from(t.doubleData ?? []);
      break;
    case Type.FLOAT16:
      values = float16ArrayToFloat32(
        raw
          ? new Uint16Array(raw.buffer, 0, Math.floor(raw.length / 2))
          : Uint16Array.from(t.int32Data ?? []),
      );
      break;
    case Type.INT64:
      values = raw
        ? Float32Array.from({ length: raw.length / 8 }, (_, i) => Number(view!.getBigInt64(i * 8, true)))
        : Float32Array.from((t.int64Data ?? []).map(int));
      break;
    case Type.INT32:
      values = raw
        ? Float32Array.from({ length: raw.length / 4 }, (_, i) => view!.getInt32(i * 4, true))
        : Float32Array.from(t.int32Data ?? []);
      break;
    default:
      throw new GabnError('malformed', `tensor '${name}' has ONNX data type ${t.dataType}`, {
        file,
        expected: 'float32, float16, float64, int64 or int32 tensors',
      });
  }
  if (values.length !== count) {
    throw new GabnError(
      'malformed',
      `tensor '${name}' holds ${values.length} values for shape [${shape.join(', ')}]`,
      {
        file,
        expected: `${count} values (a truncated or damaged file?)`,
      },
    );
  }
  return { shape, values: Float32Array.from(values) };
}

function attributes(node: onnxProto.onnx.INodeProto, file: string): Map<string, Attribute> {
  const out = new Map<string, Attribute>();
  const A = onnx.AttributeProto.AttributeType;
  for (const a of node.attribute ?? []) {
    const name = a.name ?? '';
    switch (a.type) {
      case A.FLOAT:
        out.set(name, a.f ?? 0);
        break;
      case A.INT:
        out.set(name, int(a.i));
        break;
      case A.INTS:
        out.set(name, (a.ints ?? []).map(int));
        break;
      case A.FLOATS:
        out.set(name, [...(a.floats ?? [])]);
        break;
      case A.STRING:
        out.set(name, new TextDecoder().decode(a.s ?? new Uint8Array()));
        break;
      case A.TENSOR:
        out.set(name, tensorValues(a.t!, file));
        break;
      default:
        // Graph-valued attributes and the like belong to ops the importer refuses anyway.
        break;
    }
  }
  return out;
}

/** Decodes the protobuf and checks that every node is an op the importer knows. */
export function readOnnxGraph(bytes: Uint8Array, file: string): OnnxGraph {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new GabnError('malformed', `not a readable ONNX model: ${(error as Error).message}`, {
      file,
      expected: `${EXPECTED} (truncated or damaged?)`,
      cause: error,
    });
  }
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0) {
    throw new GabnError('malformed', 'the file holds no ONNX graph', { file, expected: EXPECTED });
  }
  const constants = new Map<string, SourceTensor>();
  for (const t of graph.initializer ?? []) constants.set(t.name ?? '', tensorValues(t, file));
  const nodes: OnnxNode[] = [];
  for (const n of graph.node ?? []) {
    const node: OnnxNode = {
      name: n.name ?? '',
      op: n.opType ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attributes: attributes(n, file),
    };
    if ((n.domain ?? '') !== '' && n.domain !== 'ai.onnx') {
      throw new GabnError('malformed', `${nodeLabel(node)} is of the op domain '${n.domain}'`, {
        file,
        expected: 'standard ONNX ops only',
      });
    }
    if (!(KNOWN_OPS as readonly string[]).includes(node.op)) {
      throw new GabnError('malformed', `${nodeLabel(node)}: the importer does not know this op`, {
        file,
        expected: `an iResNet made of ${KNOWN_OPS.join(', ')}`,
      });
    }
    if (!foldConstant(node, constants)) nodes.push(node);
  }
  const inputs = (graph.input ?? []).filter((i) => !constants.has(i.name ?? ''));
  if (inputs.length !== 1 || (graph.output ?? []).length !== 1) {
    throw new GabnError(
      'malformed',
      `the graph has ${inputs.length} image input(s) and ${(graph.output ?? []).length} output(s)`,
      { file, expected: 'one image input and one embedding output' },
    );
  }
  const dims = (inputs[0]!.type?.tensorType?.shape?.dim ?? []).map((d) =>
    d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? int(d.dimValue) : '?',
  );
  return {
    nodes,
    constants,
    input: { name: inputs[0]!.name ?? '', dims },
    output: graph.output![0]!.name ?? '',
    producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(),
    opset: Math.max(0, ...(model.opsetImport ?? []).filter((o) => !o.domain).map((o) => int(o.version))),
    irVersion: int(model.irVersion),
  };
}

/** Works out a node whose inputs are all constants (Constant, Unsqueeze, Reshape, Identity of weights). */
function foldConstant(node: OnnxNode, constants: Map<string, SourceTensor>): boolean {
  if (node.op === 'Constant') {
    const value = node.attributes.get('value');
    if (typeof value !== 'object' || Array.isArray(value)) return false;
    constants.set(node.outputs[0]!, value);
    return true;
  }
  if (!['Unsqueeze', 'Squeeze', 'Reshape', 'Identity'].includes(node.op)) return false;
  const source = constants.get(node.inputs[0]!);
  if (source === undefined || !node.inputs.slice(1).every((i) => constants.has(i))) return false;
  // Only the values matter downstream (PRelu slopes [C, 1, 1] are C slopes), in their order.
  constants.set(node.outputs[0]!, { shape: [source.values.length], values: source.values });
  return true;
}
