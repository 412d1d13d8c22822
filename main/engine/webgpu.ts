/**
 * The webgpu rung: Dawn's Node bindings (the optional npm package `webgpu`, its addon prebuilt inside
 * the package and loaded through N-API, so one build serves Node and Electron alike) give
 * tfjs-backend-webgpu a GPU on any Vulkan, Metal or D3D12 driver.
 *
 * The adapter is requested with high performance and inspected before tfjs sees it. A software
 * adapter (Dawn's fallback flag, SwiftShader, llvmpipe/lavapipe) emulates the GPU on the CPU and is
 * many times slower than the wasm rung (a 3×3 convolution's forward and backward pass: 31 s on
 * SwiftShader, 0.17 s on wasm), so it is refused unless the rung is forced (GABN_BACKEND=webgpu),
 * which the tests do to check the rung on machines without a GPU.
 *
 * tfjs-backend-webgpu cannot read a tensor synchronously in Node (`dataSync` throws): every read on
 * the compute path awaits `data()` (see `readsSynchronously`).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { tf } from './tf.ts';

/** What the webgpu rung found: shown by `gabn doctor` and the status bar. */
export interface GpuAdapterReport {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** An emulation on the CPU (Dawn's fallback flag, or a known software driver). */
  readonly software: boolean;
  readonly limits: GpuLimits;
}

/** The two limits a training step must fit (one tensor is one buffer, bound whole). */
export interface GpuLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

/** The rung's outcome: null reason when it loaded; the adapter whenever one was found. */
export interface WebGpuOutcome {
  readonly reason: string | null;
  readonly adapter: GpuAdapterReport | null;
}

interface Adapter {
  readonly info: { vendor: string; architecture: string; device: string; description: string } & {
    isFallbackAdapter?: boolean;
  };
  readonly limits: Record<string, number>;
  readonly features: { has(name: string): boolean };
  requestDevice(descriptor: object): Promise<unknown>;
}

interface Gpu {
  requestAdapter(options: { powerPreference: 'high-performance' }): Promise<Adapter | null>;
}

interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

const require = createRequire(import.meta.url);

const SOFTWARE_DRIVERS = /swiftshader|llvmpipe|lavapipe|softpipe|warp|basic render/i;

/** The limits tfjs-backend-webgpu asks for (the adapter's own: the defaults cap buffers at 128-256 MiB). */
const REQUESTED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;

/**
 * Where the Vulkan loader looks for drivers on Linux. Without one, Dawn can only fail, and prints
 * warnings while it does: say so without loading it.
 */
function vulkanDriverProblem(env: NodeJS.ProcessEnv): string | null {
  if (process.platform !== 'linux') return null;
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.VK_ADD_DRIVER_FILES) return null;
  const home = os.homedir();
  const folders = [
    path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'vulkan/icd.d'),
    '/etc/xdg/vulkan/icd.d',
    '/etc/vulkan/icd.d',
    path.join(env.XDG_DATA_HOME ?? path.join(home, '.local/share'), 'vulkan/icd.d'),
    '/usr/local/share/vulkan/icd.d',
    '/usr/share/vulkan/icd.d',
  ];
  const found = folders.some((dir) => {
    try {
      return readdirSync(dir).some((name) => name.endsWith('.json'));
    } catch {
      return false;
    }
  });
  return found
    ? null
    : 'no Vulkan driver is installed (no driver manifest in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d, and VK_ICD_FILENAMES is unset)';
}

function describe(adapter: Adapter): GpuAdapterReport {
  const { vendor, architecture, device, description } = adapter.info;
  const named = `${vendor} ${architecture} ${device} ${description}`;
  return {
    vendor,
    architecture,
    device,
    description,
    software: adapter.info.isFallbackAdapter === true || SOFTWARE_DRIVERS.test(named),
    limits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize ?? 0,
      maxBufferSize: adapter.limits.maxBufferSize ?? 0,
    },
  };
}

/** One line for people: "NVIDIA ampere (NVIDIA GeForce RTX 3080), buffers up to 2 GiB". */
export function describeAdapter(adapter: GpuAdapterReport): string {
  const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
  const detail = adapter.description || adapter.device;
  const gib = adapter.limits.maxStorageBufferBindingSize / 2 ** 30;
  const size = gib >= 1 ? `${Number(gib.toFixed(2))} GiB` : `${Math.round(gib * 1024)} MiB`;
  return `${name}${detail ? ` (${detail})` : ''}${adapter.software ? ', software' : ''}, buffers up to ${size}`;
}

/**
 * Dawn's entry points as the browser has them: the GPU* constants on globalThis and `navigator.gpu`.
 * Node 21+ (and Electron's Node) define a global navigator: gpu goes onto it.
 */
function installNavigatorGpu(dawn: DawnModule, gpu: Gpu): void {
  const global = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in global)) global[name] = value;
  const existing = global.navigator as Record<string, unknown> | undefined;
  if (existing === undefined) global.navigator = { gpu };
  else Object.defineProperty(existing, 'gpu', { value: gpu, configurable: true, writable: true });
}

let dawnGpu: Promise<{ dawn: DawnModule; gpu: Gpu } | string> | undefined;

/** Loads Dawn once per process; a string says why it cannot load. */
function loadDawn(): Promise<{ dawn: DawnModule; gpu: Gpu } | string> {
  dawnGpu ??= (async () => {
    const driver = vulkanDriverProblem(process.env);
    if (driver !== null) return driver;
    // Dawn's Vulkan backend warns on every start without a writable runtime folder.
    if (!process.env.XDG_RUNTIME_DIR && process.platform === 'linux') {
      const dir = path.join(os.tmpdir(), `gabn-runtime-${os.userInfo().uid}`);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
      process.env.XDG_RUNTIME_DIR = dir;
    }
    let dawn: DawnModule;
    try {
      dawn = (await import('webgpu')) as unknown as DawnModule;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/Cannot find (module|package) 'webgpu'/.test(message)) {
        return 'the webgpu package (Dawn) is not installed (an optional dependency: it has no build for this platform)';
      }
      return `Dawn's addon failed to load: ${message.split('\n')[0]}${/libvulkan/.test(message) ? ' (install libvulkan1)' : ''}`;
    }
    return { dawn, gpu: dawn.create([]) };
  })();
  return dawnGpu;
}

/**
 * Finds the adapter and, unless only probing, registers tfjs's webgpu backend on it. A software
 * adapter is refused unless `forced`. Does not select the backend.
 */
export async function prepareWebGpu(forced: boolean, register: boolean): Promise<WebGpuOutcome> {
  const loaded = await loadDawn();
  if (typeof loaded === 'string') return { reason: loaded, adapter: null };
  const adapter = await loaded.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    return {
      reason: 'Dawn found no WebGPU adapter (no GPU with a Vulkan, Metal or D3D12 driver that Dawn accepts)',
      adapter: null,
    };
  }
  const report = describe(adapter);
  if (report.software && !forced) {
    return {
      reason: `refused the software adapter ${report.vendor} ${report.architecture}: it emulates a GPU on the CPU, many times slower than wasm (GABN_BACKEND=webgpu forces it)`,
      adapter: report,
    };
  }
  if (register) registerOn(loaded.dawn, loaded.gpu, adapter);
  return { reason: null, adapter: report };
}

let registered = false;

/**
 * tfjs's webgpu backend on the adapter inspected above, with the adapter's own buffer limits. Once
 * per process: tests switch backends, and removing a backend disposes its tensors.
 */
function registerOn(dawn: DawnModule, gpu: Gpu, adapter: Adapter): void {
  if (registered) return;
  registered = true;
  installNavigatorGpu(dawn, gpu);
  // Required after navigator.gpu exists: the package registers its backend only where it sees one.
  const { WebGPUBackend } = require('@tensorflow/tfjs-backend-webgpu') as {
    WebGPUBackend: new (device: unknown, info: unknown) => tf.KernelBackend;
  };
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const requiredLimits = Object.fromEntries(REQUESTED_LIMITS.map((name) => [name, adapter.limits[name]]));
      const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
      const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
      return new WebGPUBackend(device, adapter.info);
    },
    3,
  );
}

/** What the status bar and `gabn doctor` say of the GPU: the adapter in one line, and its state. */
export interface GpuSummary {
  /** "NVIDIA ampere (NVIDIA GeForce RTX 3080), buffers up to 2 GiB", or null where none was found. */
  readonly adapter: string | null;
  /** "in use", or why not (no adapter, refused as software, a higher rung won). */
  readonly state: string;
}

export function summariseGpu(rung: {
  readonly status: string;
  readonly reason: string;
  readonly adapter?: GpuAdapterReport;
}): GpuSummary {
  const adapter = rung.adapter ? describeAdapter(rung.adapter) : null;
  const state =
    rung.status === 'active'
      ? 'in use'
      : rung.status === 'available'
        ? `not in use (${rung.reason})`
        : rung.status === 'not-tried'
          ? `not tried: ${rung.reason}`
          : rung.reason;
  return { adapter, state };
}

/** The active webgpu device's limits, or null on any other backend. */
export function activeGpuLimits(): GpuLimits | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const limits = (tf.backend() as unknown as { device: { limits: GpuLimits } }).device.limits;
  return {
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
  };
}

/**
 * Whether the active backend can read a tensor synchronously. Where it can (cpu, wasm, tensorflow),
 * the training step keeps its single pass with reads inside the gradient tape; on webgpu every read
 * is awaited between phases.
 */
export function readsSynchronously(): boolean {
  return tf.getBackend() !== 'webgpu';
}
