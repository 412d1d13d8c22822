/**
 * Recognises the insightface iResNet in an ONNX graph and names its tensors as arcface_torch's
 * state dict does, whatever the exporter called them:
 *
 *   [Sub/Mul/Div/Add by constants]   input normalisation inside the graph (converted models)
 *   Conv [BN] PRelu                  stem: conv1, bn1, prelu
 *   per block: BN Conv [BN] PRelu Conv [BN] + (identity | Conv [BN])
 *                                    layerK.i: bn1, conv1, bn2, prelu, conv2, bn3, downsample.0/1
 *   BN [Dropout] Flatten|Reshape [Dropout] Gemm|MatMul+Add [BN]
 *                                    bn2, fc, features
 *
 * A [BN] absent after a convolution with a bias is a batch norm folded into it (an eval-mode export);
 * iresnet-state-dict.ts maps both forms. The walk follows the data from the input; the first node
 * that does not fit is named in the error with what the layout has there.
 */
import { GabnError } from '../../base/errors.ts';
import { BN_EPSILON } from '../batch-norm.ts';
import type { SourceTensor } from './iresnet-state-dict.ts';
import { nodeLabel, type OnnxGraph, type OnnxNode } from './onnx-graph.ts';

export interface OnnxIResNet {
  /** Tensors named and shaped as arcface_torch's state dict (OIHW kernels, fc [E, F]). */
  readonly stateDict: Map<string, SourceTensor>;
  /** conv_input = p·scale + offset per channel, when the graph normalises its input itself. */
  readonly inGraph?: { readonly scale: number[]; readonly offset: number[] };
  /** BN epsilons other than PyTorch's 1e-5, converted into the running variance. */
  readonly epsilons: number[];
}

const EXPECTED_LAYOUT = 'the insightface iResNet layout (docs/importing-models.md)';

export function recogniseIResNet(graph: OnnxGraph, file: string): OnnxIResNet {
  const consumers = new Map<string, OnnxNode[]>();
  for (const node of graph.nodes) {
    for (const input of node.inputs) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  }
  const sd = new Map<string, SourceTensor>();
  const epsilons = new Set<number>();

  const fail = (node: OnnxNode | undefined, expected: string): never => {
    throw new GabnError(
      'malformed',
      node === undefined
        ? `the graph ends where the iResNet layout has ${expected}`
        : `${nodeLabel(node)} stands where the iResNet layout has ${expected}`,
      { file, expected: EXPECTED_LAYOUT },
    );
  };
  const constant = (node: OnnxNode, index: number, what: string): SourceTensor => {
    const t = graph.constants.get(node.inputs[index] ?? '');
    if (t === undefined) return fail(node, `${what} given as a constant`);
    return t;
  };
  /** The nodes reading `tensor`, skipping Identity and Dropout (the identity at inference). */
  const readers = (tensor: string): OnnxNode[] =>
    (consumers.get(tensor) ?? []).flatMap((n) =>
      n.op === 'Identity' || n.op === 'Dropout' ? readers(n.outputs[0]!) : [n],
    );
  const only = (tensor: string, op: string, what: string): OnnxNode => {
    const next = readers(tensor);
    if (next.length !== 1 || next[0]!.op !== op) return fail(next[0], what);
    return next[0]!;
  };

  // Input normalisation done inside the graph: conv_input = p·scale + offset.
  let cur = graph.input.name;
  const scale = [1, 1, 1];
  const offset = [0, 0, 0];
  let normalised = false;
  for (;;) {
    const next = readers(cur);
    if (next.length !== 1 || !['Sub', 'Mul', 'Div', 'Add'].includes(next[0]!.op)) break;
    const node = next[0]!;
    const c = constant(node, 1, 'a per-channel normalisation');
    if (c.values.length !== 1 && c.values.length !== 3) fail(node, 'a scalar or per-channel normalisation');
    const at = (i: number) => c.values[c.values.length === 1 ? 0 : i]!;
    for (let i = 0; i < 3; i++) {
      if (node.op === 'Sub') offset[i] = offset[i]! - at(i);
      if (node.op === 'Add') offset[i] = offset[i]! + at(i);
      if (node.op === 'Mul' || node.op === 'Div') {
        const f = node.op === 'Mul' ? at(i) : 1 / at(i);
        scale[i] = scale[i]! * f;
        offset[i] = offset[i]! * f;
      }
    }
    normalised = true;
    cur = node.outputs[0]!;
  }

  const conv = (node: OnnxNode, name: string, kernel: number, stride: number, pad: number, what: string) => {
    const w = constant(node, 1, `${name}.weight`);
    const attr = (key: string, fallback: number[]) =>
      (node.attributes.get(key) as number[] | undefined) ?? fallback;
    const group = (node.attributes.get('group') as number | undefined) ?? 1;
    const pads = attr('pads', [0, 0, 0, 0]);
    const ok =
      w.shape.length === 4 &&
      w.shape[2] === kernel &&
      w.shape[3] === kernel &&
      group === 1 &&
      attr('strides', [1, 1]).every((s) => s === stride) &&
      attr('dilations', [1, 1]).every((d) => d === 1) &&
      pads.every((p) => p === pad) &&
      ((node.attributes.get('auto_pad') as string | undefined) ?? 'NOTSET') === 'NOTSET';
    if (!ok) fail(node, `${what}: a ${kernel}×${kernel} convolution, stride ${stride}, padding ${pad}`);
    sd.set(`${name}.weight`, w);
    if (node.inputs[2]) sd.set(`${name}.bias`, constant(node, 2, `${name}.bias`));
    return node.outputs[0]!;
  };
  const batchNorm = (node: OnnxNode, name: string) => {
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => constant(node, i, `${name} statistics`));
    const eps = (node.attributes.get('epsilon') as number | undefined) ?? 1e-5;
    let v = variance!.values;
    let g = gamma!.values;
    // Same eval-mode result with PyTorch's ε: σ² + ε = σ'² + 1e-5, or a rescaled γ if σ'² would be < 0.
    if (Math.abs(eps - BN_EPSILON) > 1e-12) {
      epsilons.add(eps);
      const shifted = v.map((x) => x + eps - BN_EPSILON);
      if (shifted.every((x) => x >= 0)) v = shifted;
      else g = g.map((x, i) => x * Math.sqrt((v[i]! + BN_EPSILON) / (v[i]! + eps)));
    }
    sd.set(`${name}.weight`, { shape: gamma!.shape, values: Float32Array.from(g) });
    sd.set(`${name}.bias`, beta!);
    sd.set(`${name}.running_mean`, mean!);
    sd.set(`${name}.running_var`, { shape: variance!.shape, values: Float32Array.from(v) });
    return node.outputs[0]!;
  };
  /** A batch norm after `tensor` if there is one (else it was folded into the conv before). */
  const optionalBatchNorm = (tensor: string, name: string) => {
    const next = readers(tensor);
    return next.length === 1 && next[0]!.op === 'BatchNormalization' ? batchNorm(next[0]!, name) : tensor;
  };
  const prelu = (tensor: string, name: string, what: string) => {
    const node = only(tensor, 'PRelu', what);
    sd.set(`${name}.weight`, constant(node, 1, `${name}.weight`));
    return node.outputs[0]!;
  };

  // Stem.
  cur = conv(only(cur, 'Conv', 'the stem convolution conv1'), 'conv1', 3, 1, 1, 'the stem conv1');
  cur = optionalBatchNorm(cur, 'bn1');
  cur = prelu(cur, 'prelu', 'the stem PReLU');

  // Blocks, until the batch norm that is not followed by a convolution (bn2).
  const stages: number[] = [];
  for (;;) {
    const next = readers(cur);
    const bn = next.find((n) => n.op === 'BatchNormalization');
    if (bn === undefined) return fail(next[0], 'a block (batch norm, then 3×3 convolution) or bn2');
    const afterBn = readers(bn.outputs[0]!);
    if (afterBn.length !== 1 || afterBn[0]!.op !== 'Conv') break;
    const conv2Node = readers(optionalPreluInput(afterBn[0]!.outputs[0]!))[0];
    const stride = ((conv2Node?.attributes.get('strides') as number[] | undefined) ?? [1])[0] ?? 1;
    if (stride === 2 || stages.length === 0) stages.push(0);
    const p = `layer${stages.length}.${stages[stages.length - 1]!}`;
    stages[stages.length - 1]!++;
    const input = cur;
    let out = batchNorm(bn, `${p}.bn1`);
    out = conv(afterBn[0]!, `${p}.conv1`, 3, 1, 1, `${p}.conv1`);
    out = optionalBatchNorm(out, `${p}.bn2`);
    out = prelu(out, `${p}.prelu`, `the PReLU of ${p}`);
    out = conv(only(out, 'Conv', `${p}.conv2`), `${p}.conv2`, 3, stride, 1, `${p}.conv2`);
    out = optionalBatchNorm(out, `${p}.bn3`);
    const add = only(out, 'Add', `the residual sum of ${p}`);
    const other = add.inputs.find((i) => i !== out) ?? out;
    if (other !== input) {
      const down = readers(input).find((n) => n.op === 'Conv');
      if (down === undefined)
        return fail(add, `the shortcut of ${p} (the block input, or a 1×1 convolution of it)`);
      let shortcut = conv(down, `${p}.downsample.0`, 1, stride, 0, `the downsample of ${p}`);
      shortcut = optionalBatchNorm(shortcut, `${p}.downsample.1`);
      if (shortcut !== other) return fail(add, `the sum of ${p} with its downsample`);
    }
    cur = add.outputs[0]!;
  }
  if (stages.length !== 4) {
    throw new GabnError(
      'malformed',
      `the graph has ${stages.length} stages of blocks [${stages.join(', ')}]`,
      {
        file,
        expected: `${EXPECTED_LAYOUT}: four stages, each opened by a stride-2 block`,
      },
    );
  }

  // Head: bn2, flatten, fc, features.
  cur = batchNorm(readers(cur).find((n) => n.op === 'BatchNormalization')!, 'bn2');
  const flatten = readers(cur);
  if (flatten.length !== 1 || !['Flatten', 'Reshape'].includes(flatten[0]!.op)) {
    fail(flatten[0], 'the flatten before fc');
  }
  cur = flatten[0]!.outputs[0]!;
  const fcNode = readers(cur);
  if (fcNode.length !== 1 || !['Gemm', 'MatMul'].includes(fcNode[0]!.op))
    return fail(fcNode[0], 'the fully connected layer fc');
  cur = fullyConnected(fcNode[0]!, sd, constant, fail, readers);
  const features = readers(cur);
  if (features.length === 1 && features[0]!.op === 'BatchNormalization')
    cur = batchNorm(features[0]!, 'features');
  else {
    // features folded into fc: an identity BatchNorm1d.
    const e = sd.get('fc.bias')!.values.length;
    sd.set('features.weight', { shape: [e], values: new Float32Array(e).fill(1) });
    sd.set('features.bias', { shape: [e], values: new Float32Array(e) });
    sd.set('features.running_mean', { shape: [e], values: new Float32Array(e) });
    sd.set('features.running_var', { shape: [e], values: new Float32Array(e).fill(1 - BN_EPSILON) });
  }
  const rest = readers(cur);
  if (cur !== graph.output || rest.length > 0) fail(rest[0], 'the embedding, as the graph output');
  return { stateDict: sd, ...(normalised ? { inGraph: { scale, offset } } : {}), epsilons: [...epsilons] };

  /** A folded block has no bn2: conv1's output goes straight to PReLU; an unfolded one through BN. */
  function optionalPreluInput(tensor: string): string {
    const next = readers(tensor);
    const afterBn = next.length === 1 && next[0]!.op === 'BatchNormalization' ? next[0]!.outputs[0]! : tensor;
    const p = readers(afterBn);
    return p.length === 1 && p[0]!.op === 'PRelu' ? p[0]!.outputs[0]! : afterBn;
  }
}

function fullyConnected(
  node: OnnxNode,
  sd: Map<string, SourceTensor>,
  constant: (node: OnnxNode, index: number, what: string) => SourceTensor,
  fail: (node: OnnxNode | undefined, expected: string) => never,
  readers: (tensor: string) => OnnxNode[],
): string {
  const w = constant(node, 1, 'fc.weight');
  if (w.shape.length !== 2) fail(node, 'fc.weight as a matrix');
  const transB = node.op === 'Gemm' ? ((node.attributes.get('transB') as number | undefined) ?? 0) : 0;
  const alpha = node.op === 'Gemm' ? ((node.attributes.get('alpha') as number | undefined) ?? 1) : 1;
  const beta = node.op === 'Gemm' ? ((node.attributes.get('beta') as number | undefined) ?? 1) : 1;
  if (node.op === 'Gemm' && ((node.attributes.get('transA') as number | undefined) ?? 0) !== 0) {
    fail(node, 'fc without a transposed input');
  }
  // PyTorch's fc.weight is [E, F]: Gemm with transB = 1 holds it as is, MatMul holds [F, E].
  const [rows, cols] = w.shape as [number, number];
  const weight =
    transB === 1
      ? Float32Array.from(w.values)
      : Float32Array.from({ length: rows * cols }, (_, k) => {
          const e = Math.floor(k / rows);
          const f = k % rows;
          return w.values[f * cols + e]!;
        });
  const e = transB === 1 ? rows : cols;
  sd.set('fc.weight', { shape: [e, transB === 1 ? cols : rows], values: weight.map((v) => v * alpha) });
  let out = node.outputs[0]!;
  let bias: Float32Array = new Float32Array(e);
  if (node.op === 'Gemm' && node.inputs[2]) bias = constant(node, 2, 'fc.bias').values.map((v) => v * beta);
  if (node.op === 'MatMul') {
    const add = readers(out);
    if (add.length === 1 && add[0]!.op === 'Add') {
      bias = Float32Array.from(constant(add[0]!, add[0]!.inputs[0] === out ? 1 : 0, 'fc.bias').values);
      out = add[0]!.outputs[0]!;
    }
  }
  if (bias.length !== e) fail(node, `fc.bias with ${e} values`);
  sd.set('fc.bias', { shape: [e], values: bias });
  return out;
}
