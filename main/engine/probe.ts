import { createRequire } from 'node:module';
import type { BackendName, RungStatus } from './backends.ts';
import { explainNativeFailure } from './backends.ts';
import { installNodeUtilPolyfill } from './node-polyfill.ts';
import { prepareWebGpu } from './webgpu.ts';

const require = createRequire(import.meta.url);

const MODULE: Record<BackendName, string | null> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  webgpu: 'webgpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: null,
};

/**
 * Says whether a rung could load, without switching to it. Used by `gabn doctor` for the rungs a
 * forced backend left untried. Loading a native module registers its backend but does not select it.
 */
export async function probeRung(name: BackendName): Promise<RungStatus> {
  const module = MODULE[name];
  if (module === null) return { name, status: 'available', reason: 'built in' };
  if (name === 'webgpu') {
    const { reason, adapter } = await prepareWebGpu(false, false);
    const found = adapter === null ? {} : { adapter };
    return reason === null
      ? { name, status: 'available', reason: 'Dawn has an adapter', ...found }
      : { name, status: 'unavailable', reason, ...found };
  }
  try {
    if (name !== 'wasm') installNodeUtilPolyfill();
    require(module);
    return { name, status: 'available', reason: `${module} loads` };
  } catch (error) {
    const reason =
      name === 'wasm' ? `${module} failed to load: ${String(error)}` : explainNativeFailure(name, error);
    return { name, status: 'unavailable', reason };
  }
}
