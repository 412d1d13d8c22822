/**
 * The backend ladder: tensorflow-gpu -> tensorflow -> webgpu -> wasm -> cpu. Each rung is tried in turn and the
 * reason a rung is unavailable is kept, so `gabn doctor` and the status bar can say why the app runs
 * where it runs. `GABN_BACKEND` (or an explicit choice) forces one rung: an unknown name or a forced
 * rung that cannot load is an error, never a silent fallback.
 */
import { createRequire } from 'node:module';
import { GabnError } from '../base/errors.ts';
import { installNodeUtilPolyfill } from './node-polyfill.ts';
import { tf } from './tf.ts';
import { type GpuAdapterReport, prepareWebGpu } from './webgpu.ts';

export const BACKEND_LADDER = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_LADDER)[number];

export interface RungStatus {
  readonly name: BackendName;
  /** 'active': in use; 'available': loaded but a higher rung won; 'unavailable': could not load;
   * 'not-tried': a higher rung was chosen before this one was reached. */
  readonly status: 'active' | 'available' | 'unavailable' | 'not-tried';
  readonly reason: string;
  /** The webgpu rung's adapter, whether it was used or refused. */
  readonly adapter?: GpuAdapterReport;
}

export interface BackendChoice {
  readonly backend: BackendName;
  /** Why this rung: forced by GABN_BACKEND, by the caller, or the first rung that loaded. */
  readonly why: string;
  readonly rungs: readonly RungStatus[];
}

const require = createRequire(import.meta.url);

/** The tfjs name a rung registers under. */
const TFJS_NAME: Record<BackendName, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  webgpu: 'webgpu',
  wasm: 'wasm',
  cpu: 'cpu',
};

export function parseBackendName(name: string, source: string): BackendName {
  if ((BACKEND_LADDER as readonly string[]).includes(name)) return name as BackendName;
  throw new GabnError('backend', `unknown backend '${name}' in ${source}`, {
    expected: `one of ${BACKEND_LADDER.join(', ')}`,
  });
}

/** Explains a native load failure in terms a user can act on. */
export function explainNativeFailure(rung: BackendName, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const pkg = rung === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  if (/Cannot find module '@tensorflow\/tfjs-node(-gpu)?'/.test(message)) {
    return `${pkg} is not installed (an optional dependency: its install step downloads libtensorflow, which needs internet access)`;
  }
  const cuda = /(libcudart\.so\.[\d.]+|libcudnn\.so\.[\d.]+|libcublas\w*\.so\.[\d.]+)/.exec(message);
  if (cuda) {
    return `${cuda[1]} not found: tfjs-node-gpu 4.x needs CUDA 11.2 and cuDNN 8.1`;
  }
  if (/tfjs_binding\.node|libtensorflow/.test(message)) {
    return `${pkg} is installed but its native library is missing or broken (reinstall it with internet access): ${firstLine(message)}`;
  }
  return `${pkg} failed to load: ${firstLine(message)}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

interface RungOutcome {
  readonly reason: string | null;
  readonly adapter?: GpuAdapterReport;
}

/** A failed rung's reason, or null once it is the active backend. `forced` lets webgpu take a software adapter. */
async function tryRung(rung: BackendName, forced: boolean): Promise<RungOutcome> {
  let adapter: GpuAdapterReport | undefined;
  try {
    switch (rung) {
      case 'tensorflow-gpu':
        installNodeUtilPolyfill();
        require('@tensorflow/tfjs-node-gpu');
        break;
      case 'tensorflow':
        installNodeUtilPolyfill();
        require('@tensorflow/tfjs-node');
        break;
      case 'webgpu': {
        const outcome = await prepareWebGpu(forced, true);
        if (outcome.adapter !== null) adapter = outcome.adapter;
        if (outcome.reason !== null) return { reason: outcome.reason, ...(adapter ? { adapter } : {}) };
        break;
      }
      case 'wasm':
        require('@tensorflow/tfjs-backend-wasm');
        break;
      case 'cpu':
        break;
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (rung === 'wasm') return { reason: `@tensorflow/tfjs-backend-wasm failed to load: ${message}` };
    if (rung === 'webgpu') return { reason: `@tensorflow/tfjs-backend-webgpu failed to load: ${message}` };
    return { reason: explainNativeFailure(rung, error) };
  }
  const found = adapter ? { adapter } : {};
  try {
    // setBackend says false, and tf.getBackend() may still name the rung, when its factory failed.
    const ok = await tf.setBackend(TFJS_NAME[rung]);
    if (!ok) return { reason: `tfjs could not initialise the ${rung} backend`, ...found };
    await tf.ready();
    return { reason: null, ...found };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const reason =
      rung === 'tensorflow-gpu' || rung === 'tensorflow' ? explainNativeFailure(rung, error) : message;
    return { reason, ...found };
  }
}

/**
 * Selects and initialises a backend. `forced` (or GABN_BACKEND) names one rung; otherwise the ladder
 * is walked from the top and the first rung that loads wins.
 */
export async function chooseBackend(forced?: BackendName): Promise<BackendChoice> {
  const fromEnv = process.env.GABN_BACKEND?.trim();
  const wanted = forced ?? (fromEnv ? parseBackendName(fromEnv, 'GABN_BACKEND') : undefined);
  const rungs: RungStatus[] = [];
  if (wanted !== undefined) {
    const { reason, adapter } = await tryRung(wanted, true);
    if (reason !== null) {
      throw new GabnError('backend', `the ${wanted} backend was requested but cannot load: ${reason}`);
    }
    for (const name of BACKEND_LADDER) {
      rungs.push(
        name === wanted
          ? { name, status: 'active', reason: 'loaded', ...(adapter ? { adapter } : {}) }
          : { name, status: 'not-tried', reason: `${wanted} was requested` },
      );
    }
    const why = forced !== undefined ? 'requested by the caller' : `forced by GABN_BACKEND=${fromEnv}`;
    return { backend: wanted, why, rungs };
  }
  let chosen: BackendName | undefined;
  const failures: string[] = [];
  for (const name of BACKEND_LADDER) {
    if (chosen !== undefined) {
      rungs.push({ name, status: 'not-tried', reason: `${chosen} is higher on the ladder` });
      continue;
    }
    const { reason, adapter } = await tryRung(name, false);
    const found = adapter ? { adapter } : {};
    if (reason === null) {
      chosen = name;
      rungs.push({ name, status: 'active', reason: 'loaded', ...found });
    } else {
      failures.push(name);
      rungs.push({ name, status: 'unavailable', reason, ...found });
    }
  }
  if (chosen === undefined) throw new GabnError('backend', 'no TensorFlow.js backend could be loaded');
  const why =
    failures.length === 0
      ? 'the highest rung of the ladder'
      : `first rung that loaded (${failures.join(', ')} unavailable)`;
  return { backend: chosen, why, rungs };
}
