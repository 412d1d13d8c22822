/**
 * The iResNet family of insightface arcface_torch (`backbones/iresnet.py`): which depths exist, the
 * blocks per stage, and the small configurations (width multiplier, smaller input) that train on a
 * CPU. A spec is plain data; its canonical name is how checkpoints and the CLI refer to it.
 */
import { GabnError } from '../base/errors.ts';

export type IResNetDepth = 18 | 34 | 50 | 100 | 200;

/** IBasicBlocks per stage, as in iresnet18/34/50/100/200 of arcface_torch. */
export const IRESNET_LAYERS: Readonly<Record<IResNetDepth, readonly [number, number, number, number]>> = {
  18: [2, 2, 2, 2],
  34: [3, 4, 6, 3],
  50: [3, 4, 14, 3],
  100: [3, 13, 30, 3],
  200: [6, 26, 60, 6],
};

/** Stage widths at width 1; the stem has the first stage's width (64). */
export const IRESNET_WIDTHS = [64, 128, 256, 512] as const;

/** The total stride of every iResNet: four stages, each opened by a stride-2 block (the stem keeps the size). */
export const IRESNET_STRIDE = 16;

export interface IResNetSpec {
  readonly family: 'iresnet';
  readonly depth: IResNetDepth;
  /** Channel multiplier: every width is round(width × 64·2^k), at least 1. 1 is the published network. */
  readonly width: number;
  /** Side of the square input in pixels (112 for ArcFace-aligned faces). */
  readonly inputSize: number;
  /** Length of the embedding (512 in the published network). */
  readonly embeddingSize: number;
}

export const DEFAULT_INPUT_SIZE = 112;
export const DEFAULT_EMBEDDING_SIZE = 512;

/** Makes a complete spec from a partial one, filling the published defaults, and checks it. */
export function iresnetSpec(spec: {
  depth: number;
  width?: number;
  inputSize?: number;
  embeddingSize?: number;
}): IResNetSpec {
  const full = {
    family: 'iresnet' as const,
    depth: spec.depth as IResNetDepth,
    width: spec.width ?? 1,
    inputSize: spec.inputSize ?? DEFAULT_INPUT_SIZE,
    embeddingSize: spec.embeddingSize ?? DEFAULT_EMBEDDING_SIZE,
  };
  const problem = specProblem(full);
  if (problem !== undefined) {
    throw new GabnError('config', `invalid iResNet configuration: ${problem}`, {
      expected: 'depth 18, 34, 50, 100 or 200; width > 0; input size ≥ 16; embedding size ≥ 1',
    });
  }
  return full;
}

/** Why a spec is not usable, or undefined when it is. */
export function specProblem(spec: IResNetSpec): string | undefined {
  if (!(spec.depth in IRESNET_LAYERS)) return `unknown depth ${spec.depth}`;
  if (!(typeof spec.width === 'number' && spec.width > 0 && spec.width <= 16)) {
    return `width ${spec.width} is not in (0, 16]`;
  }
  if (!Number.isInteger(spec.inputSize) || spec.inputSize < 16 || spec.inputSize > 1024) {
    return `input size ${spec.inputSize} is not an integer in [16, 1024]`;
  }
  if (!Number.isInteger(spec.embeddingSize) || spec.embeddingSize < 1 || spec.embeddingSize > 65536) {
    return `embedding size ${spec.embeddingSize} is not an integer in [1, 65536]`;
  }
  return undefined;
}

/** Channels of stage k (0..3) for a width multiplier. */
export function stageWidth(spec: IResNetSpec, stage: number): number {
  return Math.max(1, Math.round(IRESNET_WIDTHS[stage]! * spec.width));
}

/** Output side of a 3×3 convolution with padding 1 and the given stride (PyTorch's floor rule). */
export function conv3x3OutputSize(size: number, stride: number): number {
  return Math.floor((size + 2 - 3) / stride) + 1;
}

/** Side of the last feature map: the stem keeps the size, each of the four stages halves it (rounding up). */
export function finalFeatureSize(spec: IResNetSpec): number {
  let size = spec.inputSize;
  for (let stage = 0; stage < 4; stage++) size = conv3x3OutputSize(size, 2);
  return size;
}

/**
 * Canonical name: `iresnet34`, `iresnet18-w0.25-56`, `iresnet50-e128`. Parts equal to the published
 * defaults are left out, so the four published networks keep their insightface names.
 */
export function specName(spec: IResNetSpec): string {
  let name = `iresnet${spec.depth}`;
  if (spec.width !== 1) name += `-w${spec.width}`;
  if (spec.inputSize !== DEFAULT_INPUT_SIZE) name += `-${spec.inputSize}`;
  if (spec.embeddingSize !== DEFAULT_EMBEDDING_SIZE) name += `-e${spec.embeddingSize}`;
  return name;
}

const NAME_PATTERN = /^iresnet(\d+)(?:-w(\d+(?:\.\d+)?))?(?:-(\d+))?(?:-e(\d+))?$/;

/** Parses a name written by specName (or by a user following the same form). */
export function parseSpecName(name: string): IResNetSpec {
  const match = NAME_PATTERN.exec(name.trim());
  if (match === null) {
    throw new GabnError('config', `unknown architecture '${name}'`, {
      expected:
        'iresnet18|34|50|100|200, optionally -w<width>, -<input size>, -e<embedding size>, e.g. iresnet18-w0.25-56',
    });
  }
  return iresnetSpec({
    depth: Number(match[1]),
    width: match[2] === undefined ? 1 : Number(match[2]),
    inputSize: match[3] === undefined ? DEFAULT_INPUT_SIZE : Number(match[3]),
    embeddingSize: match[4] === undefined ? DEFAULT_EMBEDDING_SIZE : Number(match[4]),
  });
}
