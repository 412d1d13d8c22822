/**
 * Convolution gradients (input and filter) on the shapes of iResNet at 112x112, batch 8: the stock
 * wasm kernels of tfjs 4.22 (Conv2DBackpropInput only: it has no Conv2DBackpropFilter), the
 * project's wasm kernels, and PyTorch 1.13 on the CPU (2 threads) measured in the same run.
 */

import { installGradientCorrections } from '../main/engine/corrections/index.ts';
import { loadEngine, tf } from '../main/engine/index.ts';
import { formatSeconds, runTorchReference, timeIt } from './timing.ts';

const SHAPES = [
  { name: 'stage1 3x3 s1 64->64 @56', x: [8, 56, 56, 64], k: [3, 3, 64, 64], stride: 1 },
  { name: 'stage2 3x3 s2 64->128 @56', x: [8, 56, 56, 64], k: [3, 3, 64, 128], stride: 2 },
  { name: 'stage3 3x3 s1 256->256 @14', x: [8, 14, 14, 256], k: [3, 3, 256, 256], stride: 1 },
] as const;

interface Prepared {
  readonly inputGradient: () => void;
  readonly filterGradient: () => void;
}

/** Inputs are made once; only the gradient kernels are timed. */
function prepare(shape: (typeof SHAPES)[number]): Prepared {
  const x = tf.randomNormal([...shape.x]) as tf.Tensor4D;
  const k = tf.randomNormal([...shape.k], 0, 0.05) as tf.Tensor4D;
  const dy = tf.tidy(() => tf.randomNormal(tf.conv2d(x, k, shape.stride, 'same').shape)) as tf.Tensor4D;
  const attrs = { strides: shape.stride, pad: 'same', dataFormat: 'NHWC', filterShape: [...shape.k] };
  return {
    inputGradient: () =>
      tf.tidy(() => void tf.conv2dTranspose(dy, k, x.shape, shape.stride, 'same').dataSync()),
    filterGradient: () =>
      tf.tidy(() => {
        const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
        dw.dataSync();
      }),
  };
}

function gflops(shape: (typeof SHAPES)[number], seconds: number): string {
  const [n, h, w] = shape.x;
  const [kh, kw, ci, co] = shape.k;
  const out = (h / shape.stride) * (w / shape.stride);
  return ((2 * n * out * kh * kw * ci * co) / seconds / 1e9).toFixed(1);
}

await loadEngine({ backend: 'wasm', corrections: false });
const stock: number[] = [];
for (const shape of SHAPES) stock.push(await timeIt(prepare(shape).inputGradient, 3));
installGradientCorrections(tf);
const dx: number[] = [];
const dw: number[] = [];
for (const shape of SHAPES) {
  const prepared = prepare(shape);
  dx.push(await timeIt(prepared.inputGradient, 3));
  dw.push(await timeIt(prepared.filterGradient, 3));
}
const torch = runTorchReference('bench/torch/conv_kernels.py', [JSON.stringify(SHAPES)]);

console.log('convolution gradients, wasm backend, batch 8, median wall time (GFLOP/s)');
console.log(
  'shape                      | dx, stock wasm     | dx, ours           | dW, ours (stock: none) | dx+dW ours | dx+dW PyTorch | ratio',
);
SHAPES.forEach((shape, i) => {
  const ref = torch.ok ? torch.results[shape.name] : undefined;
  const total = dx[i]! + dw[i]!;
  console.log(
    [
      shape.name.padEnd(26),
      `${formatSeconds(stock[i]!)} (${gflops(shape, stock[i]!)})`.padEnd(18),
      `${formatSeconds(dx[i]!)} (${gflops(shape, dx[i]!)})`.padEnd(18),
      `${formatSeconds(dw[i]!)} (${gflops(shape, dw[i]!)})`.padEnd(22),
      formatSeconds(total).padEnd(10),
      (ref === undefined ? 'n/a' : formatSeconds(ref)).padEnd(13),
      ref === undefined ? 'n/a' : `${(total / ref).toFixed(1)}x PyTorch`,
    ].join(' | '),
  );
});
console.log(
  `dx speed-up over the stock wasm kernel: ${SHAPES.map((_, i) => `${(stock[i]! / dx[i]!).toFixed(1)}x`).join(', ')}`,
);
if (!torch.ok) console.log(`PyTorch reference not measured: ${torch.reason}`);
