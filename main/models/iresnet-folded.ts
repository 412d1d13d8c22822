/**
 * Inference form of an iResNet: every eval-mode batch norm that follows a linear map is folded into
 * it (BN(Wx) = (aW)x + b with a = γ/√(σ²+ε), b = β − aμ), which removes most of the normalisation
 * work from audits and embedding extraction.
 *
 * Each block's bn1 comes *before* conv1, whose zero padding would see BN(0) ≠ 0 if the affine were
 * pushed into the kernel; it stays a per-channel scale and shift. The final bn2 is folded forward
 * into fc (flatten is linear, no padding), and the BatchNorm1d `features` into fc's columns.
 */
import { tf } from '../engine/tf.ts';
import { BN_EPSILON } from './batch-norm.ts';
import { type IResNet, iresnetBlocks } from './iresnet.ts';
import type { IResNetSpec } from './iresnet-spec.ts';
import { finalFeatureSize, stageWidth } from './iresnet-spec.ts';
import type { ParamMap } from './parameters.ts';

export interface FoldedIResNet {
  readonly spec: IResNetSpec;
  /** `conv1.weight`/`.bias`, `layerK.i.bn1.scale`/`.shift`, `layerK.i.conv1.bias`, ..., `fc.weight`/`.bias`. */
  readonly tensors: Record<string, tf.Tensor>;
}

/** Per-channel a and b of an eval-mode batch norm. */
function affineOf(params: ParamMap, prefix: string): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  const scale = tf.div(
    params[`${prefix}.weight`]!,
    tf.sqrt(tf.add(params[`${prefix}.running_var`]!, BN_EPSILON)),
  );
  const shift = tf.sub(params[`${prefix}.bias`]!, tf.mul(scale, params[`${prefix}.running_mean`]!));
  return { scale: scale as tf.Tensor1D, shift: shift as tf.Tensor1D };
}

/** New tensors (the model is untouched): dispose them with disposeFolded. */
export function foldBatchNorm(model: IResNet): FoldedIResNet {
  const p = model.params;
  const tensors = tf.tidy(() => {
    const out: Record<string, tf.Tensor> = {};
    const foldConv = (weight: string, bn: string, into: string) => {
      const { scale, shift } = affineOf(p, bn);
      // HWIO: the output channel is the last axis, so the scale broadcasts over it.
      out[`${into}.weight`] = tf.mul(p[weight]!, scale);
      out[`${into}.bias`] = shift;
    };
    foldConv('conv1.weight', 'bn1', 'conv1');
    out['prelu.weight'] = tf.clone(p['prelu.weight']!);
    for (const b of iresnetBlocks(model.spec)) {
      const pre = affineOf(p, `${b.prefix}.bn1`);
      out[`${b.prefix}.bn1.scale`] = pre.scale;
      out[`${b.prefix}.bn1.shift`] = pre.shift;
      foldConv(`${b.prefix}.conv1.weight`, `${b.prefix}.bn2`, `${b.prefix}.conv1`);
      out[`${b.prefix}.prelu.weight`] = tf.clone(p[`${b.prefix}.prelu.weight`]!);
      foldConv(`${b.prefix}.conv2.weight`, `${b.prefix}.bn3`, `${b.prefix}.conv2`);
      if (b.downsample) {
        foldConv(`${b.prefix}.downsample.0.weight`, `${b.prefix}.downsample.1`, `${b.prefix}.downsample`);
      }
    }
    // fc(flatten(a ⊙ h + b)) = flatten(h) · diag(a)W + flatten(b)·W; a and b repeat per position (h, w, c).
    const positions = finalFeatureSize(model.spec) ** 2;
    const channels = stageWidth(model.spec, 3);
    const last = affineOf(p, 'bn2');
    const rowScale = tf.tile(last.scale, [positions]).reshape([positions * channels, 1]);
    const rowShift = tf.tile(last.shift, [positions]).reshape([1, positions * channels]);
    const fcWeight = p['fc.weight'] as tf.Tensor2D;
    const fcBias = tf.add(tf.matMul(rowShift, fcWeight).reshape([-1]), p['fc.bias']!);
    const features = affineOf(p, 'features');
    out['fc.weight'] = tf.mul(tf.mul(fcWeight, rowScale), features.scale);
    out['fc.bias'] = tf.add(tf.mul(fcBias, features.scale), features.shift);
    return out;
  });
  return { spec: model.spec, tensors };
}

/** Same embedding as forward(model, x, { training: false }), with fewer operations. */
export function foldedForward(folded: FoldedIResNet, x: tf.Tensor4D): tf.Tensor2D {
  const t = folded.tensors;
  const conv = (name: string, input: tf.Tensor, stride: number, pad: number) =>
    tf.add(
      tf.conv2d(input as tf.Tensor4D, t[`${name}.weight`] as tf.Tensor4D, stride, pad),
      t[`${name}.bias`]!,
    );
  let h: tf.Tensor = tf.prelu(conv('conv1', x, 1, 1), t['prelu.weight']!);
  for (const b of iresnetBlocks(folded.spec)) {
    let out = tf.add(tf.mul(h, t[`${b.prefix}.bn1.scale`]!), t[`${b.prefix}.bn1.shift`]!);
    out = tf.prelu(conv(`${b.prefix}.conv1`, out, 1, 1), t[`${b.prefix}.prelu.weight`]!);
    out = conv(`${b.prefix}.conv2`, out, b.stride, 1);
    const identity = b.downsample ? conv(`${b.prefix}.downsample`, h, b.stride, 0) : h;
    h = tf.add(out, identity);
  }
  const flat = tf.reshape(h, [h.shape[0]!, -1]) as tf.Tensor2D;
  return tf.add(tf.matMul(flat, t['fc.weight'] as tf.Tensor2D), t['fc.bias']!) as tf.Tensor2D;
}

export function disposeFolded(folded: FoldedIResNet): void {
  for (const tensor of Object.values(folded.tensors)) tensor.dispose();
}
