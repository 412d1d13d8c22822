/**
 * Kernels the wasm backend of tfjs 4.22 lacks or runs slowly, expressed as convolutions that run on
 * XNNPACK:
 * - Conv2DBackpropFilter is missing, so not even first-order training of a convolution works. The
 *   filter gradient dW[kh,kw,ci,co] = sum_{n,oh,ow} xpad[n, kh + oh*s, kw + ow*s, ci] dy[n,oh,ow,co]
 *   is one dilated convolution of x^T ([CI, Hp, Wp, N]) with dy^T ([OH, OW, N, CO]), dilation s.
 * - Conv2DBackpropInput is a naive scalar loop (~2 GFLOP/s): dx is the correlation of dy with the
 *   spatially flipped, in/out-swapped filter; for a strided layer, one correlation per phase of the
 *   input modulo the stride (subpixel-input-gradient.ts).
 * - Identity copies its input, and tfjs saves every tensor needed for backprop through Identity, so
 *   every saved activation is duplicated in the 4 GiB wasm heap: share the buffer instead.
 * - Cast copies its input even to its own dtype, which tfjs's gradients do on every product and
 *   quotient (1,500 copies in a GABN step): share the buffer there too. Its cast to bool stores
 *   each value truncated to a byte (-2.5 gives 254, 0.5 and 256 give false): a comparison with 0.
 * - Sum and Mean over leading axes transpose the whole tensor first: one average pooling instead.
 * - DepthwiseConv2dNativeBackpropInput and ...Filter are missing, so no gradient passes a depthwise
 *   convolution (imported graph models such as MobileFaceNet; the fused op asks for both): each is
 *   the gradient of the ordinary convolution whose filter is block-diagonal,
 *   W'[kh,kw,c,c·m+j] = W[kh,kw,c,j], the filter gradient read off its diagonal blocks.
 */
import type { KernelConfig, KernelFunc, Tensor, Tensor4D, TensorInfo } from '@tensorflow/tfjs-core';
import type { tf as TF } from '../tf.ts';
import { subpixelInputGradient } from './subpixel-input-gradient.ts';

type Tf = typeof TF;
type Pad = 'valid' | 'same' | number;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

interface RefCountingBackend {
  incRef(dataId: object): void;
}

function pair(value: number | [number, number]): [number, number] {
  return typeof value === 'number' ? [value, value] : value;
}

/** A kernel output that is its input: the same buffer, one more reference (no copy). */
function sharedOutput(backend: RefCountingBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** The stock wasm kernel a replacement falls back to (the corrections install theirs once). */
function stockKernel(tf: Tf, kernelName: string): KernelFunc {
  const stock = tf.getKernel(kernelName, 'wasm')?.kernelFunc;
  if (stock === undefined) throw new Error(`the wasm backend has no ${kernelName} kernel`);
  return stock;
}

/**
 * Hands a tensor computed with tf ops inside a kernel to the engine as the kernel's output: the
 * engine wraps the same buffer in a new tensor without taking a reference, so take one for it and
 * drop the inner tensor (the buffer lives on, owned by the kernel's output).
 */
function asKernelOutput(backend: RefCountingBackend, tensor: Tensor): TensorInfo {
  const info = sharedOutput(backend, tensor);
  tensor.dispose();
  return info;
}

export function conv2dFilterGradient(
  tf: Tf,
  x: Tensor4D,
  dy: Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number],
  pad: Pad,
  dimRoundingMode: Rounding,
): Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { top, bottom, left, right } = info.padInfo;
  const padded =
    top || bottom || left || right
      ? tf.pad(x, [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ])
      : x;
  const xt = tf.transpose(padded, [3, 1, 2, 0]);
  const dyt = tf.transpose(dy, [1, 2, 0, 3]);
  let out = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
  if (out.shape[1] !== kh || out.shape[2] !== kw) out = tf.slice(out, [0, 0, 0, 0], [ci, kh, kw, co]);
  return tf.transpose(out, [1, 2, 0, 3]);
}

export function conv2dInputGradient(
  tf: Tf,
  dy: Tensor4D,
  filter: Tensor4D,
  inputShape: [number, number, number, number],
  strides: [number, number],
  pad: Pad,
  dimRoundingMode: Rounding,
): Tensor4D {
  const [kh, kw] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { top, left } = info.padInfo;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const [n, oh, ow, co] = dy.shape;
  const h = inputShape[1];
  const w = inputShape[2];
  if (sh > 1 || sw > 1) {
    return subpixelInputGradient(
      tf,
      dy,
      filter,
      { s: sh, k: kh, front: top, size: h },
      { s: sw, k: kw, front: left, size: w },
    );
  }
  let d: Tensor4D = dy;
  const padTop = kh - 1 - top;
  const padLeft = kw - 1 - left;
  const padBottom = h + top - oh;
  const padRight = w + left - ow;
  // A negative pad means the forward conv never read those rows: crop them instead.
  const crop = [
    Math.max(0, -padTop),
    Math.max(0, -padLeft),
    Math.max(0, -padBottom),
    Math.max(0, -padRight),
  ] as const;
  if (crop.some((c) => c > 0)) {
    d = tf.slice(
      d,
      [0, crop[0], crop[1], 0],
      [n, d.shape[1] - crop[0] - crop[2], d.shape[2] - crop[1] - crop[3], co],
    );
  }
  const flipped = tf.transpose(rotateFilter(tf, filter), [0, 1, 3, 2]);
  const padding: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [Math.max(0, padTop), Math.max(0, padBottom)],
    [Math.max(0, padLeft), Math.max(0, padRight)],
    [0, 0],
  ];
  return tf.conv2d(d, flipped, 1, padding);
}

/**
 * The filter [KH, KW, CI, CO] rotated 180 degrees in space. Reversing both spatial axes reverses the
 * order of the KH·KW blocks of CI·CO values: nine block copies for a 3×3 filter. tf.reverse on wasm
 * walks every element with index arithmetic (9.6 ms for 3×3×128×128; the copies and the transpose
 * after them, 2.8 ms), and a GABN step inverts each convolution several times.
 */
function rotateFilter(tf: Tf, filter: Tensor4D): Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const block = ci * co;
  const taps = kh * kw;
  const values = filter.dataSync() as Float32Array;
  const rotated = new Float32Array(values.length);
  for (let t = 0; t < taps; t++) {
    rotated.set(values.subarray(t * block, (t + 1) * block), (taps - 1 - t) * block);
  }
  return tf.tensor4d(rotated, filter.shape);
}

interface ConvGradientAttrs {
  readonly inputs: Record<string, Tensor4D>;
  readonly shape: [number, number, number, number];
  readonly strides: [number, number];
  readonly pad: Pad;
  readonly dimRoundingMode: Rounding;
}

/**
 * A kernel computed with tf ops: checks the layout, reads the attributes both convolution gradients
 * share, and hands the result to the engine.
 */
function convGradientKernel(
  tf: Tf,
  kernelName: string,
  shapeAttr: 'filterShape' | 'inputShape',
  compute: (attrs: ConvGradientAttrs) => Tensor4D,
): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const a = attrs as Record<string, unknown>;
    if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
      throw new Error(`${kernelName} on wasm: only NHWC is supported, got ${String(a.dataFormat)}`);
    }
    const result = tf.tidy(() =>
      compute({
        inputs: inputs as Record<string, Tensor4D>,
        shape: a[shapeAttr] as [number, number, number, number],
        strides: pair(a.strides as number | [number, number]),
        pad: a.pad as Pad,
        dimRoundingMode: a.dimRoundingMode as Rounding,
      }),
    );
    return asKernelOutput(backend as unknown as RefCountingBackend, result);
  };
}

/** Below these sizes the stock kernel is as fast: the pooling's own costs dominate. */
const POOLED_REDUCTION = { minOuter: 1024, minInner: 8 } as const;

/**
 * Sum or Mean of a large float tensor over its leading axes ([N, H, W, C] to [C]: batch norm's
 * statistics and gradients, every per-channel broadcast's gradient) as one average pooling of the
 * tensor seen as [1, N·H·W, 1, C]. The stock kernels transpose the whole tensor first; XNNPACK's
 * pooling reads it once, channels last (16×56×56×16: 0.35 ms instead of 2.7 ms). The kernels' own
 * gradients are unchanged. Any other reduction goes to the stock kernel.
 */
function leadingAxesReduction(tf: Tf, kernelName: 'Sum' | 'Mean'): KernelFunc {
  const stock = stockKernel(tf, kernelName);
  return (args) => {
    const x = args.inputs.x as Tensor;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < x.rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return stock(args);
    const outer = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const kept = x.shape.slice(axes.length);
    const inner = tf.util.sizeFromShape(kept);
    if (outer < POOLED_REDUCTION.minOuter || inner < POOLED_REDUCTION.minInner) return stock(args);
    const result = tf.tidy(() => {
      const mean = tf.avgPool(tf.reshape(x, [1, outer, 1, inner]) as Tensor4D, [outer, 1], 1, 'valid');
      const reduced = kernelName === 'Sum' ? tf.mul(mean, outer) : mean;
      return tf.reshape(reduced, keepDims ? [...axes.map(() => 1), ...kept] : kept);
    });
    return asKernelOutput(args.backend as unknown as RefCountingBackend, result);
  };
}

/** dx of a depthwise convolution (dilation 1), through the equivalent block-diagonal convolution. */
export function depthwiseInputGradient(
  tf: Tf,
  dy: Tensor4D,
  filter: Tensor4D,
  inputShape: [number, number, number, number],
  strides: [number, number],
  pad: Pad,
  dimRoundingMode: Rounding,
): Tensor4D {
  const [kh, kw, c, m] = filter.shape;
  const eye = tf.reshape(tf.eye(c), [1, 1, c, c, 1]);
  const dense = tf.reshape(tf.mul(tf.reshape(filter, [kh, kw, 1, c, m]), eye), [
    kh,
    kw,
    c,
    c * m,
  ]) as Tensor4D;
  return conv2dInputGradient(tf, dy, dense, inputShape, strides, pad, dimRoundingMode);
}

/** dW of a depthwise convolution [kh, kw, C, m]: the diagonal blocks of the dense filter gradient. */
export function depthwiseFilterGradient(
  tf: Tf,
  x: Tensor4D,
  dy: Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number],
  pad: Pad,
  dimRoundingMode: Rounding,
): Tensor4D {
  const [kh, kw, c, m] = filterShape;
  const dense = conv2dFilterGradient(tf, x, dy, [kh, kw, c, c * m], strides, pad, dimRoundingMode);
  const eye = tf.reshape(tf.eye(c), [1, 1, c, c, 1]);
  return tf.sum(tf.mul(tf.reshape(dense, [kh, kw, c, c, m]), eye), 2) as Tensor4D;
}

export function wasmKernels(tf: Tf): { configs: KernelConfig[]; replaced: string[] } {
  const filterGradient = convGradientKernel(tf, 'Conv2DBackpropFilter', 'filterShape', (k) =>
    conv2dFilterGradient(tf, k.inputs.x!, k.inputs.dy!, k.shape, k.strides, k.pad, k.dimRoundingMode),
  );
  const inputGradient = convGradientKernel(tf, 'Conv2DBackpropInput', 'inputShape', (k) =>
    conv2dInputGradient(tf, k.inputs.dy!, k.inputs.filter!, k.shape, k.strides, k.pad, k.dimRoundingMode),
  );
  const depthwiseGradient = convGradientKernel(tf, 'DepthwiseConv2dNativeBackpropInput', 'inputShape', (k) =>
    depthwiseInputGradient(tf, k.inputs.dy!, k.inputs.filter!, k.shape, k.strides, k.pad, k.dimRoundingMode),
  );
  const depthwiseFilter = convGradientKernel(tf, 'DepthwiseConv2dNativeBackpropFilter', 'filterShape', (k) =>
    depthwiseFilterGradient(tf, k.inputs.x!, k.inputs.dy!, k.shape, k.strides, k.pad, k.dimRoundingMode),
  );
  const stockIdentity = stockKernel(tf, 'Identity');
  const identity: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return stockIdentity(args);
    return sharedOutput(args.backend as unknown as RefCountingBackend, x);
  };
  const stockCast = stockKernel(tf, 'Cast');
  const cast: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const backend = args.backend as unknown as RefCountingBackend;
    const { dtype } = args.attrs as { dtype: string };
    if (dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
      return asKernelOutput(
        backend,
        tf.tidy(() => tf.notEqual(x as Tensor, tf.scalar(0, x.dtype))),
      );
    }
    if (x.dtype !== dtype || x.dtype === 'string') return stockCast(args);
    return sharedOutput(backend, x);
  };
  const configs: KernelConfig[] = [
    { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: filterGradient },
    { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: inputGradient },
    { kernelName: 'DepthwiseConv2dNativeBackpropInput', backendName: 'wasm', kernelFunc: depthwiseGradient },
    { kernelName: 'DepthwiseConv2dNativeBackpropFilter', backendName: 'wasm', kernelFunc: depthwiseFilter },
    { kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity },
    { kernelName: 'Cast', backendName: 'wasm', kernelFunc: cast },
    { kernelName: 'Sum', backendName: 'wasm', kernelFunc: leadingAxesReduction(tf, 'Sum') },
    { kernelName: 'Mean', backendName: 'wasm', kernelFunc: leadingAxesReduction(tf, 'Mean') },
  ];
  return { configs, replaced: configs.map((c) => c.kernelName) };
}
