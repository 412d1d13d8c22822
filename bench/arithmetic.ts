/**
 * The arithmetic a piece of tfjs work does, counted from the kernels it runs: the floating-point
 * operations of its convolutions (forward, filter gradient, input gradient) and matrix products,
 * which are nearly all of a training step's work. Two steps' counts bound their time ratio on a
 * backend whose time follows arithmetic, whatever the per-operation overheads.
 */
import { tf } from '../main/engine/index.ts';

export interface Arithmetic {
  /** Multiply-adds counted as two operations. */
  readonly convolutionFlops: number;
  readonly matMulFlops: number;
  readonly convolutions: number;
}

type Shape = readonly number[];

function size(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * One kernel's operations. Every convolution kernel does the same work as the forward pass it
 * belongs to: 2 · |dy| · KH · KW · CI, with dy the forward output [N, OH, OW, CO].
 */
export function kernelFlops(name: string, inputShapes: readonly Shape[], outputShape: Shape): number {
  switch (name) {
    case 'Conv2D': {
      const filter = inputShapes[1]!; // [KH, KW, CI, CO]
      return 2 * size(outputShape) * filter[0]! * filter[1]! * filter[2]!;
    }
    case 'Conv2DBackpropInput': {
      const [dy, filter] = inputShapes as [Shape, Shape];
      return 2 * size(dy) * filter[0]! * filter[1]! * filter[2]!;
    }
    case 'Conv2DBackpropFilter': {
      const dy = inputShapes[1]!; // inputs: x, dy; output: the filter's gradient [KH, KW, CI, CO]
      return 2 * size(dy) * outputShape[0]! * outputShape[1]! * outputShape[2]!;
    }
    case 'BatchMatMul': {
      // [..., M, K] x [..., K, N] (either side possibly transposed): 2 · |out| · K, where K is the
      // one dimension of a that is not in the output.
      const a = inputShapes[0]!;
      const m = outputShape[outputShape.length - 2]!;
      const last = a[a.length - 1]!;
      const k = last === m && a[a.length - 2] !== m ? a[a.length - 2]! : last;
      return 2 * size(outputShape) * k;
    }
    default:
      return 0;
  }
}

interface ProfiledKernel {
  readonly name: string;
  readonly inputShapes: Shape[];
  readonly outputShapes: Shape[];
}

/** The parts of tfjs's engine state the count reads: the kernel nesting depth and the open profile. */
interface EngineState {
  readonly kernelDepth: number;
  readonly activeProfile: { kernels: ProfiledKernel[] };
}

const CONVOLUTIONS = new Set(['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']);

/**
 * Runs `work` once under the profiler and adds up its kernels' arithmetic. A kernel built from other
 * kernels (the wasm backend's convolution gradients are convolutions) is counted once, at its own
 * shapes: the profile lists every kernel, the inner ones first, so each one's nesting depth is noted
 * as it is listed, and kernels inside a convolution kernel are left out.
 */
export async function countArithmetic(work: () => void): Promise<Arithmetic> {
  const state = (tf.engine() as unknown as { state: EngineState }).state;
  const depths: number[] = [];
  const info = await tf.profile(() => {
    const kernels = state.activeProfile.kernels;
    const push = kernels.push.bind(kernels);
    kernels.push = (...items: ProfiledKernel[]) => {
      for (const _ of items) depths.push(state.kernelDepth);
      return push(...items);
    };
    work();
  });
  const kernels = info.kernels as unknown as ProfiledKernel[];
  if (depths.length !== kernels.length) throw new Error('the profile listed kernels the count did not see');
  let convolutionFlops = 0;
  let matMulFlops = 0;
  let convolutions = 0;
  // Backwards, a kernel comes before the kernels inside it: keep the chain of kernels around each one.
  const around: { depth: number; name: string }[] = [];
  for (let i = kernels.length - 1; i >= 0; i--) {
    const k = kernels[i]!;
    const depth = depths[i]!;
    while (around.length > 0 && around[around.length - 1]!.depth >= depth) around.pop();
    const insideConvolution = around.some((a) => CONVOLUTIONS.has(a.name));
    around.push({ depth, name: k.name });
    if (insideConvolution) continue;
    const flops = kernelFlops(k.name, k.inputShapes, k.outputShapes[0]!);
    if (k.name === 'BatchMatMul') {
      matMulFlops += flops;
    } else if (CONVOLUTIONS.has(k.name)) {
      convolutionFlops += flops;
      convolutions++;
    }
  }
  return { convolutionFlops, matMulFlops, convolutions };
}
