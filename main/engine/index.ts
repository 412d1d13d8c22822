/**
 * The compute engine: one call brings up TensorFlow.js on the best backend this machine has, with the
 * gradient corrections installed before any model code runs.
 */
import { type BackendChoice, type BackendName, chooseBackend } from './backends.ts';
import { type CorrectionReport, installGradientCorrections } from './corrections/index.ts';
import { tf } from './tf.ts';
import { type GpuSummary, summariseGpu } from './webgpu.ts';

export type { BackendChoice, BackendName, RungStatus } from './backends.ts';
export { BACKEND_LADDER, parseBackendName } from './backends.ts';
export { tf } from './tf.ts';
export {
  type GpuAdapterReport,
  type GpuSummary,
  readsSynchronously,
  summariseGpu,
} from './webgpu.ts';

export interface Engine {
  readonly tf: typeof tf;
  readonly backend: BackendName;
  readonly choice: BackendChoice;
  /** What was corrected; null when corrections were switched off (only tests do that). */
  readonly corrections: CorrectionReport | null;
}

export interface EngineOptions {
  /** Force a rung; otherwise GABN_BACKEND, otherwise the ladder. */
  readonly backend?: BackendName;
  /**
   * Install the gradient corrections (default true). Only tests that prove the corrections matter
   * switch them off; the registries are process-wide, so such a test runs in a process of its own.
   */
  readonly corrections?: boolean;
}

let loaded: Promise<Engine> | undefined;
let loadedWith: EngineOptions | undefined;

/** Loads the engine once per process; later calls with the same options share it. */
export function loadEngine(options: EngineOptions = {}): Promise<Engine> {
  if (loaded !== undefined) {
    if (
      options.backend !== undefined &&
      (loadedWith?.backend ?? undefined) !== options.backend &&
      tf.getBackend() !== tfjsNameOf(options.backend)
    ) {
      return loaded.then(() => switchBackend(options));
    }
    return loaded;
  }
  loadedWith = options;
  loaded = (async () => {
    const choice = await chooseBackend(options.backend);
    const corrections = options.corrections === false ? null : installGradientCorrections(tf);
    return { tf, backend: choice.backend, choice, corrections };
  })();
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}

/** The webgpu rung as the status bar and `gabn doctor` show it. */
export function gpuOf(choice: BackendChoice): GpuSummary {
  return summariseGpu(choice.rungs.find((r) => r.name === 'webgpu')!);
}

function tfjsNameOf(backend: BackendName): string {
  return backend === 'tensorflow-gpu' ? 'tensorflow' : backend;
}

/** Tests compare backends inside one process: switch the active backend, corrections stay. */
async function switchBackend(options: EngineOptions): Promise<Engine> {
  const choice = await chooseBackend(options.backend);
  const corrections = options.corrections === false ? null : installGradientCorrections(tf);
  loaded = Promise.resolve({ tf, backend: choice.backend, choice, corrections });
  loadedWith = options;
  return loaded;
}
