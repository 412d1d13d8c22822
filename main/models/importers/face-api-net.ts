/**
 * The face recognition network of @vladmandic/face-api (dlib's ResNet-34-like metric network, 128-D
 * descriptor), re-expressed in the project's own tfjs ops as a pure function of a named parameter
 * map, so gradients (the pair GAM, GAM-CT) flow through it like through any project model.
 *
 * Mirrors face-api 1.7.15 src/faceRecognitionNet/{FaceRecognitionNet,convLayer,residualLayer,
 * scaleLayer}.ts op for op (same ops, same order), so its embeddings equal face-api's own.
 * dlib replaced batch norm by a fixed per-channel affine "scale" layer after each convolution.
 */

import { GabnError } from '../../base/errors.ts';
import { type Tensor, tf } from '../../engine/tf.ts';

/** The model sees 150x150 RGB crops (dlib's chip size). */
export const FACE_API_INPUT_SIZE = 150;
export const FACE_API_EMBEDDING_SIZE = 128;
/** Per-channel RGB means subtracted from 0..255 pixels before dividing by 255 (face-api, not dlib's 256). */
export const FACE_API_MEAN_RGB = [122.782, 117.001, 104.298] as const;
export const FACE_API_PIXEL_DIVISOR = 255;

/**
 * Parameters by the project's state_dict-style names (see faceApiParamSpecs for face-api's own):
 * 'conv64_1.conv2.conv.weight' (HWIO), '.conv.bias', '.scale.weight', '.scale.bias', 'fc.weight' [in, out].
 */
export type FaceApiParams = Readonly<Record<string, Tensor>>;

/** A residual block: two 3x3 conv layers; a "down" block halves the resolution (stride 2). */
interface ResidualBlock {
  readonly name: string;
  readonly down: boolean;
  readonly inChannels: number;
  readonly outChannels: number;
}

/** The blocks in forward order, after the 7x7 stem and its max pool. */
export const FACE_API_BLOCKS: readonly ResidualBlock[] = [
  { name: 'conv32_1', down: false, inChannels: 32, outChannels: 32 },
  { name: 'conv32_2', down: false, inChannels: 32, outChannels: 32 },
  { name: 'conv32_3', down: false, inChannels: 32, outChannels: 32 },
  { name: 'conv64_down', down: true, inChannels: 32, outChannels: 64 },
  { name: 'conv64_1', down: false, inChannels: 64, outChannels: 64 },
  { name: 'conv64_2', down: false, inChannels: 64, outChannels: 64 },
  { name: 'conv64_3', down: false, inChannels: 64, outChannels: 64 },
  { name: 'conv128_down', down: true, inChannels: 64, outChannels: 128 },
  { name: 'conv128_1', down: false, inChannels: 128, outChannels: 128 },
  { name: 'conv128_2', down: false, inChannels: 128, outChannels: 128 },
  { name: 'conv256_down', down: true, inChannels: 128, outChannels: 256 },
  { name: 'conv256_1', down: false, inChannels: 256, outChannels: 256 },
  { name: 'conv256_2', down: false, inChannels: 256, outChannels: 256 },
  { name: 'conv256_down_out', down: true, inChannels: 256, outChannels: 256 },
];

export interface ParamSpec {
  /** The project's name, e.g. 'conv32_1.conv1.scale.weight'. */
  readonly name: string;
  /** face-api's name in its weights manifest, e.g. 'conv32_1/conv1/scale/weights'. */
  readonly source: string;
  readonly shape: readonly number[];
}

function convLayerSpecs(layer: string, size: number, inChannels: number, outChannels: number): ParamSpec[] {
  const prefix = layer.replace('/', '.');
  return [
    {
      name: `${prefix}.conv.weight`,
      source: `${layer}/conv/filters`,
      shape: [size, size, inChannels, outChannels],
    },
    { name: `${prefix}.conv.bias`, source: `${layer}/conv/bias`, shape: [outChannels] },
    { name: `${prefix}.scale.weight`, source: `${layer}/scale/weights`, shape: [outChannels] },
    { name: `${prefix}.scale.bias`, source: `${layer}/scale/biases`, shape: [outChannels] },
  ];
}

/** Every parameter the network reads, with its shape and face-api name, in face-api's manifest order. */
export function faceApiParamSpecs(): ParamSpec[] {
  const specs = convLayerSpecs('conv32_down', 7, 3, 32);
  for (const block of FACE_API_BLOCKS) {
    specs.push(...convLayerSpecs(`${block.name}/conv1`, 3, block.inChannels, block.outChannels));
    specs.push(...convLayerSpecs(`${block.name}/conv2`, 3, block.outChannels, block.outChannels));
  }
  specs.push({ name: 'fc.weight', source: 'fc', shape: [256, FACE_API_EMBEDDING_SIZE] });
  return specs;
}

function param(params: FaceApiParams, name: string): Tensor {
  const value = params[name];
  if (value === undefined) {
    throw new GabnError('checkpoint', `face-api network parameter '${name}' is missing`, {
      expected: 'every parameter listed by faceApiParamSpecs()',
    });
  }
  return value;
}

/** conv -> + bias -> * scale + shift -> optional relu (face-api convLayer.ts). */
function convLayer(
  x: tf.Tensor4D,
  params: FaceApiParams,
  prefix: string,
  stride: 1 | 2,
  relu: boolean,
  padding: 'valid' | 'same',
): tf.Tensor4D {
  const filters = param(params, `${prefix}.conv.weight`) as tf.Tensor4D;
  let out: tf.Tensor4D = tf.conv2d(x, filters, stride, padding);
  out = tf.add<tf.Tensor4D>(out, param(params, `${prefix}.conv.bias`));
  out = tf.add<tf.Tensor4D>(
    tf.mul(out, param(params, `${prefix}.scale.weight`)),
    param(params, `${prefix}.scale.bias`),
  );
  return relu ? tf.relu(out) : out;
}

function residual(x: tf.Tensor4D, params: FaceApiParams, name: string): tf.Tensor4D {
  let out = convLayer(x, params, `${name}.conv1`, 1, true, 'same');
  out = convLayer(out, params, `${name}.conv2`, 1, false, 'same');
  return tf.relu(tf.add<tf.Tensor4D>(out, x));
}

/**
 * The down-sampling block. The main path is a 'valid' stride-2 conv; the shortcut is a 2x2 average
 * pool, zero-padded on the channel axis when the width doubles. Where the two differ in size
 * (8 -> 3 vs 4, 4 -> 1 vs 2 at 150 px input) face-api appends zero rows/columns to the main path at the
 * bottom and right, after its second conv layer; tf.pad does the same.
 */
function residualDown(x: tf.Tensor4D, params: FaceApiParams, name: string): tf.Tensor4D {
  let out = convLayer(x, params, `${name}.conv1`, 2, true, 'valid');
  out = convLayer(out, params, `${name}.conv2`, 1, false, 'same');
  let pooled: tf.Tensor4D = tf.avgPool(x, 2, 2, 'valid');
  const padRows = pooled.shape[1] - out.shape[1];
  const padColumns = pooled.shape[2] - out.shape[2];
  if (padRows !== 0 || padColumns !== 0) {
    out = tf.pad(out, [
      [0, 0],
      [0, padRows],
      [0, padColumns],
      [0, 0],
    ]);
  }
  const padChannels = out.shape[3] - pooled.shape[3];
  if (padChannels !== 0) {
    pooled = tf.pad(pooled, [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, padChannels],
    ]);
  }
  return tf.relu(tf.add<tf.Tensor4D>(pooled, out));
}

/** RGB pixels in 0..255, [B, 150, 150, 3] -> the network's input: (p - mean) / 255. */
export function faceApiNormalize(pixels: tf.Tensor4D): tf.Tensor4D {
  return tf.div(tf.sub(pixels, tf.tensor1d([...FACE_API_MEAN_RGB])), FACE_API_PIXEL_DIVISOR);
}

/**
 * The 128-D face descriptor of normalised input x [B, 150, 150, 3] (see faceApiNormalize). Not
 * L2-normalised: dlib compares raw descriptors by Euclidean distance (0.6 is its match threshold).
 */
export function faceApiEmbedding(params: FaceApiParams, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => faceApiEmbedFeatures(params, faceApiFeatures(params, x)));
}

/** The activations after the last residual block [B, 5, 5, 256]: where Grad-CAM looks. */
export function faceApiFeatures(params: FaceApiParams, x: tf.Tensor4D): tf.Tensor4D {
  const [, height, width, channels] = x.shape;
  if (height !== FACE_API_INPUT_SIZE || width !== FACE_API_INPUT_SIZE || channels !== 3) {
    throw new GabnError('usage', `face-api network input has shape [${x.shape.join(', ')}]`, {
      expected: `[batch, ${FACE_API_INPUT_SIZE}, ${FACE_API_INPUT_SIZE}, 3]`,
    });
  }
  return tf.tidy(() => {
    let out = convLayer(x, params, 'conv32_down', 2, true, 'valid');
    out = tf.maxPool(out, 3, 2, 'valid');
    for (const block of FACE_API_BLOCKS) {
      out = block.down ? residualDown(out, params, block.name) : residual(out, params, block.name);
    }
    return out;
  });
}

/** Global average pooling and the fully connected layer to the 128-D descriptor. */
export function faceApiEmbedFeatures(params: FaceApiParams, features: tf.Tensor4D): tf.Tensor2D {
  return tf.matMul(tf.mean(features, [1, 2]) as tf.Tensor2D, param(params, 'fc.weight') as tf.Tensor2D);
}

/** Descriptor of RGB pixels in 0..255: normalisation plus network, as face-api computes it. */
export function faceApiDescriptor(params: FaceApiParams, pixels: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => faceApiEmbedding(params, faceApiNormalize(pixels)));
}
