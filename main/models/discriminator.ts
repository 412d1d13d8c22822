/**
 * The GAM race classifier of GAM-CT (Network_GAM-CT, Sec. 3.2 of the paper): a ResNet-18 in
 * torchvision's BasicBlock layout whose first convolution takes 1 channel (the GAM is H×W×1), then
 * global average pooling and a linear layer to the number of groups.
 *
 *   conv1 7×7 stride 2 pad 3 → bn1 → ReLU → max pool 3×3 stride 2 pad 1
 *   layer1..layer4: [2, 2, 2, 2] BasicBlocks, widths 64/128/256/512, stride 1/2/2/2;
 *   BasicBlock: conv1 3×3 (stride) → bn1 → ReLU → conv2 3×3 → bn2, + shortcut
 *   (downsample = conv1×1(stride) + BN when the shape changes) → ReLU
 *   avgpool → fc (512 → groups)
 *
 * Only first-order gradients pass through it (D's output gradient with respect to the GAM), so the
 * stock ReLU and MaxPool gradients are exact here.
 */

import { GabnError } from '../base/errors.ts';
import { tf } from '../engine/tf.ts';
import { batchNorm, type NormOptions } from './batch-norm.ts';
import {
  batchNormLayout,
  createParams,
  kaimingUniform,
  type ParamMap,
  parameterCount,
  type TensorLayout,
} from './parameters.ts';

export interface DiscriminatorSpec {
  readonly family: 'resnet18';
  /** Channel multiplier (1 = torchvision's ResNet-18). */
  readonly width: number;
  /** Number of demographic groups (the output classes). */
  readonly groups: number;
}

export interface Discriminator {
  readonly spec: DiscriminatorSpec;
  readonly params: ParamMap;
}

const STAGE_WIDTHS = [64, 128, 256, 512] as const;

export function discriminatorSpec(groups: number, width = 1): DiscriminatorSpec {
  if (!Number.isInteger(groups) || groups < 2) {
    throw new GabnError('config', `the GAM discriminator needs at least 2 groups, got ${groups}`, {
      expected: 'an integer number of groups ≥ 2',
    });
  }
  if (!(width > 0 && width <= 16)) {
    throw new GabnError('config', `discriminator width ${width} is not in (0, 16]`);
  }
  return { family: 'resnet18', width, groups };
}

function widthOf(spec: DiscriminatorSpec, stage: number): number {
  return Math.max(1, Math.round(STAGE_WIDTHS[stage]! * spec.width));
}

interface BasicBlockShape {
  readonly prefix: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;
  readonly downsample: boolean;
}

function blocks(spec: DiscriminatorSpec): BasicBlockShape[] {
  const out: BasicBlockShape[] = [];
  let inChannels = widthOf(spec, 0);
  for (let stage = 0; stage < 4; stage++) {
    const outChannels = widthOf(spec, stage);
    for (let i = 0; i < 2; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      out.push({
        prefix: `layer${stage + 1}.${i}`,
        inChannels,
        outChannels,
        stride,
        downsample: stride !== 1 || inChannels !== outChannels,
      });
      inChannels = outChannels;
    }
  }
  return out;
}

/** Every tensor in torchvision's state_dict order (HWIO kernels, fc.weight [in, groups]). */
export function discriminatorLayout(spec: DiscriminatorSpec): TensorLayout[] {
  const stem = widthOf(spec, 0);
  const layout: TensorLayout[] = [
    kaimingUniform('conv1.weight', [7, 7, 1, stem], 49),
    ...batchNormLayout('bn1', stem),
  ];
  for (const b of blocks(spec)) {
    layout.push(
      kaimingUniform(`${b.prefix}.conv1.weight`, [3, 3, b.inChannels, b.outChannels], 9 * b.inChannels),
      ...batchNormLayout(`${b.prefix}.bn1`, b.outChannels),
      kaimingUniform(`${b.prefix}.conv2.weight`, [3, 3, b.outChannels, b.outChannels], 9 * b.outChannels),
      ...batchNormLayout(`${b.prefix}.bn2`, b.outChannels),
    );
    if (b.downsample) {
      layout.push(
        kaimingUniform(`${b.prefix}.downsample.0.weight`, [1, 1, b.inChannels, b.outChannels], b.inChannels),
        ...batchNormLayout(`${b.prefix}.downsample.1`, b.outChannels),
      );
    }
  }
  const last = widthOf(spec, 3);
  layout.push(
    kaimingUniform('fc.weight', [last, spec.groups], last),
    kaimingUniform('fc.bias', [spec.groups], last),
  );
  return layout;
}

/** The most values one GAM's activation holds anywhere in the discriminator, for maps of `size`². */
export function largestDiscriminatorActivation(spec: DiscriminatorSpec, size: number): number {
  const out = (side: number, kernel: number, stride: number, pad: number) =>
    Math.floor((side + 2 * pad - kernel) / stride) + 1;
  let side = out(size, 7, 2, 3);
  let largest = Math.max(size * size, side * side * widthOf(spec, 0));
  side = out(side, 3, 2, 1);
  for (const b of blocks(spec)) {
    largest = Math.max(largest, side * side * Math.max(b.inChannels, b.outChannels));
    side = out(side, 3, b.stride, 1);
  }
  return largest;
}

export function discriminatorParameterCount(spec: DiscriminatorSpec): number {
  return parameterCount(discriminatorLayout(spec));
}

/**
 * A new discriminator for `groups` groups with PyTorch's default initialisation (kaiming uniform for
 * convolutions and fc, BN 1/0) from `seed`. `spec.width` scales every stage (default 1).
 */
export function createDiscriminator(
  groups: number,
  spec: { readonly width?: number },
  seed: number,
): Discriminator {
  const full = discriminatorSpec(groups, spec.width ?? 1);
  return { spec: full, params: createParams(discriminatorLayout(full), seed) };
}

/** Group logits [N, groups] of normalised GAMs [N, H, W] or [N, H, W, 1]; call inside tf.tidy. */
export function discriminatorForward(
  d: Discriminator,
  gam: tf.Tensor,
  options: NormOptions = { training: false },
): tf.Tensor2D {
  const p = d.params;
  const x = (gam.rank === 3 ? tf.expandDims(gam, 3) : gam) as tf.Tensor4D;
  const bn = (prefix: string, t: tf.Tensor) => batchNorm(p, prefix, t, options);
  const conv = (name: string, t: tf.Tensor, stride: number, pad: number) =>
    tf.conv2d(t as tf.Tensor4D, p[name] as tf.Tensor4D, stride, pad);
  let h: tf.Tensor = tf.relu(bn('bn1', conv('conv1.weight', x, 2, 3)));
  h = tf.maxPool(h as tf.Tensor4D, 3, 2, 1);
  for (const b of blocks(d.spec)) {
    let out = tf.relu(bn(`${b.prefix}.bn1`, conv(`${b.prefix}.conv1.weight`, h, b.stride, 1)));
    out = bn(`${b.prefix}.bn2`, conv(`${b.prefix}.conv2.weight`, out, 1, 1));
    const identity = b.downsample
      ? bn(`${b.prefix}.downsample.1`, conv(`${b.prefix}.downsample.0.weight`, h, b.stride, 0))
      : h;
    h = tf.relu(tf.add(out, identity));
  }
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
  return tf.add(tf.matMul(pooled, p['fc.weight'] as tf.Tensor2D), p['fc.bias']!) as tf.Tensor2D;
}
