/**
 * Installs every gradient and kernel correction GABN needs, on every backend, before any model code
 * runs. Idempotent. See notes in each file for why each one exists; every corrected op is covered by
 * a finite-difference test and by the PyTorch golden test in tests/.
 */
import type { GradConfig } from '@tensorflow/tfjs-core';
import type { tf as TF } from '../tf.ts';
import { comparisonGradients } from './comparison-gradients.ts';
import { savedOutputGradients } from './saved-output-gradients.ts';
import { structuralGradients } from './structural-gradients.ts';
import { wasmKernels } from './wasm-kernels.ts';

export interface CorrectionReport {
  /** 'gradient:Softmax', 'kernel:wasm/Conv2DBackpropFilter', ... */
  readonly installed: readonly string[];
}

const INSTALLED = Symbol.for('gabn-studio.gradient-corrections');

type Registry = typeof globalThis & { [INSTALLED]?: CorrectionReport };

export function installGradientCorrections(tf: typeof TF): CorrectionReport {
  const registry = globalThis as Registry;
  const wasmLoaded = tf.findBackendFactory('wasm') !== null;
  const previous = registry[INSTALLED];
  // The wasm rung may be registered after a first install (tests switch backends): top it up.
  if (
    previous !== undefined &&
    (!wasmLoaded || previous.installed.some((name) => name.startsWith('kernel:wasm/')))
  ) {
    return previous;
  }
  const installed: string[] = [];
  const gradients: GradConfig[] = [
    ...savedOutputGradients(tf),
    ...comparisonGradients(tf),
    ...structuralGradients(tf),
  ];
  for (const config of gradients) {
    // registerGradient warns and overrides when one exists: silence it by design.
    const warn = console.warn;
    console.warn = () => {};
    try {
      tf.registerGradient(config);
    } finally {
      console.warn = warn;
    }
    installed.push(`gradient:${config.kernelName}`);
  }
  if (wasmLoaded) {
    const { configs } = wasmKernels(tf);
    for (const config of configs) {
      if (tf.getKernel(config.kernelName, 'wasm') !== undefined)
        tf.unregisterKernel(config.kernelName, 'wasm');
      tf.registerKernel(config);
      installed.push(`kernel:wasm/${config.kernelName}`);
    }
  }
  const report: CorrectionReport = { installed };
  registry[INSTALLED] = report;
  return report;
}
