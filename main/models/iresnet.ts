/**
 * iResNet, laid out exactly as insightface arcface_torch `backbones/iresnet.py`:
 *
 *   stem:   conv1 3×3 (3→64, stride 1, pad 1) → bn1 → prelu
 *   stages: layer1..layer4, widths 64/128/256/512, the first block of each with stride 2;
 *           IBasicBlock: bn1 → conv1 3×3 → bn2 → prelu → conv2 3×3 (stride) → bn3, plus the
 *           shortcut (downsample = conv1x1(stride) + BN when the shape changes)
 *   head:   bn2 → dropout(0) → flatten → fc (C·s² → embedding) → features (BatchNorm1d, scale fixed at 1)
 *
 * Tensors are NHWC; the flatten is in NHWC order, so `fc.weight` rows are ordered (h, w, c) — a
 * converted PyTorch checkpoint permutes them from (c, h, w). Dropout is left out: insightface's
 * default rate is 0, where it is the identity.
 */

import { GabnError } from '../base/errors.ts';
import { tf } from '../engine/tf.ts';
import { batchNorm, type NormOptions } from './batch-norm.ts';
import {
  conv3x3OutputSize,
  finalFeatureSize,
  IRESNET_LAYERS,
  type IResNetSpec,
  specName,
  stageWidth,
} from './iresnet-spec.ts';
import {
  batchNormLayout,
  constant,
  createParams,
  kaimingUniform,
  type ParamMap,
  parameterCount,
  type TensorLayout,
} from './parameters.ts';

export interface IResNet {
  readonly spec: IResNetSpec;
  readonly params: ParamMap;
}

interface BlockShape {
  readonly prefix: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;
  readonly downsample: boolean;
}

/** Every IBasicBlock in order, with its channels, stride and whether it has a downsample branch. */
export function iresnetBlocks(spec: IResNetSpec): BlockShape[] {
  const blocks: BlockShape[] = [];
  let inChannels = stageWidth(spec, 0);
  IRESNET_LAYERS[spec.depth].forEach((count, stage) => {
    const outChannels = stageWidth(spec, stage);
    for (let i = 0; i < count; i++) {
      const stride = i === 0 ? 2 : 1;
      blocks.push({
        prefix: `layer${stage + 1}.${i}`,
        inChannels,
        outChannels,
        stride,
        downsample: stride !== 1 || inChannels !== outChannels,
      });
      inChannels = outChannels;
    }
  });
  return blocks;
}

/** Every tensor of the network (parameters and BN buffers) in insightface's state_dict order. */
export function iresnetLayout(spec: IResNetSpec): TensorLayout[] {
  const stem = stageWidth(spec, 0);
  const layout: TensorLayout[] = [
    kaimingUniform('conv1.weight', [3, 3, 3, stem], 3 * 9),
    ...batchNormLayout('bn1', stem),
    constant('prelu.weight', [stem], 0.25),
  ];
  for (const b of iresnetBlocks(spec)) {
    layout.push(
      ...batchNormLayout(`${b.prefix}.bn1`, b.inChannels),
      kaimingUniform(`${b.prefix}.conv1.weight`, [3, 3, b.inChannels, b.outChannels], b.inChannels * 9),
      ...batchNormLayout(`${b.prefix}.bn2`, b.outChannels),
      constant(`${b.prefix}.prelu.weight`, [b.outChannels], 0.25),
      kaimingUniform(`${b.prefix}.conv2.weight`, [3, 3, b.outChannels, b.outChannels], b.outChannels * 9),
      ...batchNormLayout(`${b.prefix}.bn3`, b.outChannels),
    );
    if (b.downsample) {
      layout.push(
        kaimingUniform(`${b.prefix}.downsample.0.weight`, [1, 1, b.inChannels, b.outChannels], b.inChannels),
        ...batchNormLayout(`${b.prefix}.downsample.1`, b.outChannels),
      );
    }
  }
  const last = stageWidth(spec, 3);
  const flat = last * finalFeatureSize(spec) ** 2;
  layout.push(
    ...batchNormLayout('bn2', last),
    kaimingUniform('fc.weight', [flat, spec.embeddingSize], flat),
    kaimingUniform('fc.bias', [spec.embeddingSize], flat),
    // insightface: nn.init.constant_(features.weight, 1.0); features.weight.requires_grad = False.
    ...batchNormLayout('features', spec.embeddingSize, false),
  );
  return layout;
}

/**
 * The most values one image's activation holds anywhere in the network: the stem's and the first
 * stage's, at full resolution. A batch's largest tensor (and its gradient) is N times this.
 */
export function largestActivation(spec: IResNetSpec): number {
  let size = spec.inputSize;
  let largest = size * size * Math.max(3, stageWidth(spec, 0));
  for (const b of iresnetBlocks(spec)) {
    largest = Math.max(largest, size * size * Math.max(b.inChannels, b.outChannels));
    size = conv3x3OutputSize(size, b.stride);
  }
  return largest;
}

/** Parameters as PyTorch counts them (sum of numel over model.parameters(), frozen scale included). */
export function iresnetParameterCount(spec: IResNetSpec): number {
  return parameterCount(iresnetLayout(spec));
}

/**
 * A new network with PyTorch's default initialisation drawn from `seed`: convolutions and the linear
 * layer kaiming-uniform (as nn.Conv2d / nn.Linear construct them), BN scale 1 and shift 0, PReLU 0.25.
 */
export function createIResNet(spec: IResNetSpec, seed: number): IResNet {
  return { spec, params: createParams(iresnetLayout(spec), seed) };
}

export interface ForwardOptions extends NormOptions {}

/**
 * The embedding of a batch of aligned faces `x` [N, inputSize, inputSize, 3] (normalised pixels):
 * [N, embeddingSize]. Pure apart from the running statistics that training mode moves. Call it
 * inside tf.tidy or a gradient function: the intermediate tensors are left to the caller's scope.
 */
export function forward(model: IResNet, x: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D {
  return embedFeatures(model, lastStageFeatures(model, x, options), options);
}

/**
 * The activations after the last residual stage [N, s, s, 512·width] (s = 7 at 112 pixels): where
 * Grad-CAM looks, and the first half of `forward`.
 */
export function lastStageFeatures(model: IResNet, x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
  const size = model.spec.inputSize;
  if (x.rank !== 4 || x.shape[1] !== size || x.shape[2] !== size || x.shape[3] !== 3) {
    throw new GabnError(
      'usage',
      `${specName(model.spec)} takes faces of ${size}×${size}×3, got [${x.shape.join(', ')}]`,
      {
        expected: `a batch [N, ${size}, ${size}, 3]`,
      },
    );
  }
  const p = model.params;
  const bn = (prefix: string, t: tf.Tensor) => batchNorm(p, prefix, t, options);
  const conv = (name: string, t: tf.Tensor, stride: number, pad: number) =>
    tf.conv2d(t as tf.Tensor4D, p[name] as tf.Tensor4D, stride, pad);
  let h: tf.Tensor = tf.prelu(bn('bn1', conv('conv1.weight', x, 1, 1)), p['prelu.weight']!);
  for (const b of iresnetBlocks(model.spec)) {
    let out = bn(`${b.prefix}.bn1`, h);
    out = conv(`${b.prefix}.conv1.weight`, out, 1, 1);
    out = tf.prelu(bn(`${b.prefix}.bn2`, out), p[`${b.prefix}.prelu.weight`]!);
    out = conv(`${b.prefix}.conv2.weight`, out, b.stride, 1);
    out = bn(`${b.prefix}.bn3`, out);
    const identity = b.downsample
      ? bn(`${b.prefix}.downsample.1`, conv(`${b.prefix}.downsample.0.weight`, h, b.stride, 0))
      : h;
    h = tf.add(out, identity);
  }
  return h as tf.Tensor4D;
}

/** The second half of `forward`: BN2d → flatten → FC → BN1d, from the last stage's activations. */
export function embedFeatures(model: IResNet, features: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D {
  const p = model.params;
  const h = batchNorm(p, 'bn2', features, options);
  const flat = tf.reshape(h, [h.shape[0]!, -1]);
  const fc = tf.add(tf.matMul(flat as tf.Tensor2D, p['fc.weight'] as tf.Tensor2D), p['fc.bias']!);
  return batchNorm(p, 'features', fc, options) as tf.Tensor2D;
}
