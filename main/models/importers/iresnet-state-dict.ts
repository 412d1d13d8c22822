/**
 * An arcface_torch iResNet given as a PyTorch state dict (names and PyTorch layouts: kernels OIHW,
 * fc.weight [E, C·s·s] with columns in (c, h, w) order) becomes the project's iResNet: the spec is
 * read from the tensors (blocks per stage → depth, conv1's channels → width, fc → embedding and input
 * size), every tensor is checked by name and shape, and kernels and fc are permuted to tfjs layouts.
 *
 * A convolution whose batch norm was folded into it (a bias and no batch norm: PyTorch's
 * fuse_conv_bn_eval, or an ONNX export in eval mode) is mapped back onto conv + BN with the BN that
 * adds the bias: μ = 0, σ² = 1 − ε, γ = 1, β = bias. Eval mode, where audits and GAMs run, is exact;
 * the folded statistics themselves are gone, so training mode re-estimates them from batches.
 */
import { GabnError } from '../../base/errors.ts';
import { BN_EPSILON } from '../batch-norm.ts';
import { iresnetLayout } from '../iresnet.ts';
import {
  DEFAULT_INPUT_SIZE,
  finalFeatureSize,
  IRESNET_LAYERS,
  type IResNetDepth,
  type IResNetSpec,
  iresnetSpec,
  specName,
  stageWidth,
} from '../iresnet-spec.ts';
import { sizeOf } from '../parameters.ts';

/** One tensor of a state dict, in PyTorch's layout, as float32. */
export interface SourceTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

export type StateDict = ReadonlyMap<string, SourceTensor>;

export interface StateDictOptions {
  /** The file, for messages. */
  readonly file: string;
  /** `--arch`: the depth the user says the network has (checked against the tensors). */
  readonly depth?: number;
  /** `--input-size`: needed only when fc's width fits several input sizes (112 is assumed otherwise). */
  readonly inputSize?: number;
}

export interface MappedIResNet {
  readonly spec: IResNetSpec;
  /** Every tensor of iresnetLayout(spec), in tfjs layouts. */
  readonly values: Map<string, Float32Array>;
  /** The batch norms that were folded into their convolution in the source. */
  readonly foldedBatchNorms: readonly string[];
}

/** Each convolution followed by a batch norm in arcface_torch, by the conv's prefix. */
function convBatchNormPairs(spec: IResNetSpec): Map<string, string> {
  const pairs = new Map([['conv1', 'bn1']]);
  IRESNET_LAYERS[spec.depth].forEach((count, stage) => {
    for (let i = 0; i < count; i++) {
      const p = `layer${stage + 1}.${i}`;
      pairs.set(`${p}.conv1`, `${p}.bn2`);
      pairs.set(`${p}.conv2`, `${p}.bn3`);
      pairs.set(`${p}.downsample.0`, `${p}.downsample.1`);
    }
  });
  return pairs;
}

/** DataParallel and some trainers prefix every name; the network is the same. */
function withoutPrefix(dict: StateDict): StateDict {
  const names = [...dict.keys()].filter((n) => !n.endsWith('num_batches_tracked'));
  for (const prefix of ['module.', 'backbone.', 'model.']) {
    if (names.length > 0 && names.every((n) => n.startsWith(prefix))) {
      return new Map([...dict].map(([n, t]) => [n.slice(prefix.length), t]));
    }
  }
  return dict;
}

function need(dict: StateDict, name: string, file: string, what: string): SourceTensor {
  const t = dict.get(name);
  if (t === undefined) {
    throw new GabnError('malformed', `the state dict has no '${name}'`, {
      file,
      expected: `an arcface_torch iResNet state dict (${what})`,
    });
  }
  return t;
}

/** Reads depth, width, embedding size and input size from the tensors. */
export function inferSpec(source: StateDict, options: StateDictOptions): IResNetSpec {
  const dict = withoutPrefix(source);
  const { file } = options;
  const conv1 = need(dict, 'conv1.weight', file, 'the stem convolution conv1.weight');
  if (conv1.shape.length !== 4 || conv1.shape[1] !== 3) {
    throw new GabnError('malformed', `conv1.weight has shape [${conv1.shape.join(', ')}]`, {
      file,
      expected: 'a 3-channel stem convolution [C, 3, 3, 3]',
    });
  }
  const blocks = [1, 2, 3, 4].map((stage) => {
    let count = 0;
    while (dict.has(`layer${stage}.${count}.conv1.weight`)) count++;
    return count;
  });
  const depthEntry = Object.entries(IRESNET_LAYERS).find(([, layers]) => layers.join() === blocks.join());
  if (depthEntry === undefined) {
    throw new GabnError(
      'malformed',
      `the state dict has [${blocks.join(', ')}] blocks in layer1..layer4, which is no iResNet`,
      {
        file,
        expected: Object.entries(IRESNET_LAYERS)
          .map(([d, l]) => `iresnet${d} [${l.join(', ')}]`)
          .join(', '),
      },
    );
  }
  const depth = Number(depthEntry[0]) as IResNetDepth;
  if (options.depth !== undefined && options.depth !== depth) {
    throw new GabnError(
      'usage',
      `--arch says r${options.depth}, but the state dict has the blocks of iresnet${depth} [${blocks.join(', ')}]`,
      { file, expected: `--arch r${depth}, or no --arch` },
    );
  }
  const width = conv1.shape[0]! / 64;
  const fc = need(dict, 'fc.weight', file, 'the embedding layer fc.weight');
  if (fc.shape.length !== 2) {
    throw new GabnError('malformed', `fc.weight has shape [${fc.shape.join(', ')}]`, {
      file,
      expected: 'a linear layer [embedding size, features]',
    });
  }
  const probe = iresnetSpec({ depth, width, embeddingSize: fc.shape[0]! });
  const channels = stageWidth(probe, 3);
  const positions = fc.shape[1]! / channels;
  const side = Math.round(Math.sqrt(positions));
  if (!Number.isInteger(positions) || side * side !== positions) {
    throw new GabnError(
      'malformed',
      `fc.weight takes ${fc.shape[1]} features, which is not ${channels} channels on a square map`,
      { file, expected: `fc.weight [E, ${channels}·s·s] for a network of width ${width}` },
    );
  }
  const inputSize = options.inputSize ?? (side === finalFeatureSize(probe) ? DEFAULT_INPUT_SIZE : undefined);
  if (inputSize === undefined) {
    throw new GabnError(
      'usage',
      `fc.weight expects a ${side}×${side} last feature map, which 112-pixel faces do not give`,
      { file, expected: `--input-size N with ceil(N / 16) = ${side}, e.g. --input-size ${side * 16}` },
    );
  }
  const spec = iresnetSpec({ depth, width, inputSize, embeddingSize: fc.shape[0]! });
  if (finalFeatureSize(spec) !== side) {
    throw new GabnError(
      'usage',
      `--input-size ${inputSize} gives a ${finalFeatureSize(spec)}×${finalFeatureSize(spec)} last feature map, fc.weight expects ${side}×${side}`,
      { file, expected: `an input size N with ceil(N / 16) = ${side}` },
    );
  }
  return spec;
}

/** OIHW → HWIO. */
function kernelToHwio(t: SourceTensor): Float32Array {
  const [o, i, h, w] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.values.length);
  for (let oo = 0; oo < o; oo++)
    for (let ii = 0; ii < i; ii++)
      for (let hh = 0; hh < h; hh++)
        for (let ww = 0; ww < w; ww++)
          out[((hh * w + ww) * i + ii) * o + oo] = t.values[((oo * i + ii) * h + hh) * w + ww]!;
  return out;
}

/** fc.weight [E, C·s·s] with (c, h, w) columns → [s·s·C, E] with (h, w, c) rows (the NHWC flatten). */
function fcToRows(t: SourceTensor, channels: number, side: number): Float32Array {
  const e = t.shape[0]!;
  const out = new Float32Array(t.values.length);
  for (let k = 0; k < e; k++)
    for (let c = 0; c < channels; c++)
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++)
          out[((y * side + x) * channels + c) * e + k] =
            t.values[k * channels * side * side + (c * side + y) * side + x]!;
  return out;
}

function torchShape(name: string, hwio: readonly number[], spec: IResNetSpec): number[] {
  if (name === 'fc.weight') return [spec.embeddingSize, hwio[0]!];
  if (hwio.length === 4) return [hwio[3]!, hwio[2]!, hwio[0]!, hwio[1]!];
  return [...hwio];
}

/**
 * Maps a state dict onto iresnetLayout(spec): every tensor present with PyTorch's shape, no tensor
 * left over, every value finite.
 */
export function mapStateDict(source: StateDict, options: StateDictOptions): MappedIResNet {
  const dict = withoutPrefix(source);
  const { file } = options;
  const spec = inferSpec(dict, options);
  const used = new Set<string>();
  const folded: string[] = [];
  const foldedBias = new Map<string, SourceTensor>();
  for (const [conv, bn] of convBatchNormPairs(spec)) {
    const bias = dict.get(`${conv}.bias`);
    if (bias === undefined) continue;
    used.add(`${conv}.bias`);
    if (dict.has(`${bn}.weight`)) {
      throw new GabnError('malformed', `'${conv}' has a bias and is still followed by batch norm '${bn}'`, {
        file,
        expected: 'arcface_torch convolutions without bias, or folded ones without their batch norm',
      });
    }
    foldedBias.set(bn, bias);
    folded.push(bn);
  }
  const values = new Map<string, Float32Array>();
  const last = stageWidth(spec, 3);
  const side = finalFeatureSize(spec);
  for (const entry of iresnetLayout(spec)) {
    const prefix = entry.name.slice(0, entry.name.lastIndexOf('.'));
    const field = entry.name.slice(prefix.length + 1);
    const bias = foldedBias.get(prefix);
    if (bias !== undefined) {
      values.set(entry.name, foldedBatchNormValue(field, bias, entry.shape[0]!, entry.name, file));
      continue;
    }
    const t = need(dict, entry.name, file, `${specName(spec)} has '${entry.name}'`);
    used.add(entry.name);
    const expected = torchShape(entry.name, entry.shape, spec);
    // PReLU slopes may come as [C, 1, 1] (an ONNX export unsqueezes them): the same C values.
    const shapeOk =
      t.shape.join() === expected.join() ||
      (expected.length === 1 && sizeOf(t.shape) === expected[0] && t.shape[0] === expected[0]);
    if (!shapeOk) {
      throw new GabnError(
        'malformed',
        `tensor '${entry.name}' has shape [${t.shape.join(', ')}], ${specName(spec)} expects [${expected.join(', ')}]`,
        { file, expected: `the shapes of ${specName(spec)}` },
      );
    }
    const bad = t.values.findIndex((v) => !Number.isFinite(v));
    if (bad !== -1) {
      throw new GabnError('malformed', `tensor '${entry.name}' holds ${t.values[bad]} at index ${bad}`, {
        file,
        expected: 'finite weights',
      });
    }
    if (entry.name === 'fc.weight') values.set(entry.name, fcToRows(t, last, side));
    else if (entry.shape.length === 4) values.set(entry.name, kernelToHwio(t));
    else values.set(entry.name, Float32Array.from(t.values));
  }
  const extra = [...dict.keys()].filter((n) => !used.has(n) && !n.endsWith('num_batches_tracked'));
  if (extra.length > 0) {
    throw new GabnError(
      'malformed',
      `the state dict holds tensor(s) ${specName(spec)} does not have: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`,
      { file, expected: `exactly the tensors of an arcface_torch ${specName(spec)}` },
    );
  }
  return { spec, values, foldedBatchNorms: folded };
}

/** The BN that adds a folded convolution's bias in eval mode: μ = 0, σ² = 1 − ε, γ = 1, β = bias. */
function foldedBatchNormValue(
  field: string,
  bias: SourceTensor,
  channels: number,
  name: string,
  file: string,
): Float32Array {
  if (bias.values.length !== channels) {
    throw new GabnError('malformed', `the bias folded into '${name}' has ${bias.values.length} values`, {
      file,
      expected: `${channels} values, one per output channel`,
    });
  }
  switch (field) {
    case 'weight':
      return new Float32Array(channels).fill(1);
    case 'bias':
      return Float32Array.from(bias.values);
    case 'running_mean':
      return new Float32Array(channels);
    default:
      return new Float32Array(channels).fill(1 - BN_EPSILON);
  }
}
