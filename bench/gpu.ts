/**
 * `npm run bench:gpu`: the GPU rungs against PyTorch on CUDA, in one command that finishes within
 * 8 minutes on a GPU machine. For each of webgpu (Dawn) and tensorflow-gpu (where it loads), in a
 * process of its own: the GAM per image, the baseline and GABN training steps, and the embedding
 * throughput of an audit; then the same in PyTorch (bench/torch/gpu.py, on CUDA where PyTorch has
 * it, otherwise on the CPU, which the table says), and the ratios.
 *
 * `--software` runs it where there is no GPU: webgpu forced onto Chromium's SwiftShader Vulkan
 * driver, with the tiny configuration of gpu-config.ts, to show the command works end to end (the
 * times are an emulation's, not a GPU's).
 */
import { spawnSync } from 'node:child_process';
import { findSwiftShaderVulkanDriver } from '../main/base/host-programs.ts';
import { GPU_CONFIG, SOFTWARE_CONFIG } from './gpu-config.ts';
import { formatSeconds, runTorchReference } from './timing.ts';

const software = process.argv.includes('--software');
const config = software ? SOFTWARE_CONFIG : GPU_CONFIG;
const repeats = software ? 1 : 5;
/**
 * Each backend's share of the 8 minutes (PyTorch on CUDA takes well under one). On a software adapter
 * only webgpu runs, and the emulation takes its time: 2-3 minutes here.
 */
const BACKEND_LIMIT_MS = (software ? 7 : 3) * 60_000;
const env = { ...process.env };
delete env.GABN_BACKEND;
if (software) {
  const driver = findSwiftShaderVulkanDriver();
  if (!driver.available) {
    console.error(`--software needs ${driver.reason}`);
    process.exit(1);
  }
  env.VK_ICD_FILENAMES = driver.path;
}

type Figures = Record<string, number | string>;

function runBackend(backend: string): Figures {
  const started = Date.now();
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/gpu-backend.ts',
      backend,
      JSON.stringify(config),
      String(repeats),
      software ? 'software' : 'gpu',
    ],
    { encoding: 'utf8', env, timeout: BACKEND_LIMIT_MS },
  );
  if (run.error || run.signal) {
    return {
      error: `did not finish within ${BACKEND_LIMIT_MS / 60_000} minutes (${Math.round((Date.now() - started) / 1000)} s)`,
    };
  }
  const last = run.stdout.trim().split('\n').slice(-1)[0] ?? '';
  try {
    return JSON.parse(last) as Figures;
  } catch {
    return { error: `exit ${run.status}: ${run.stderr.trim().split('\n').slice(-1)[0] ?? ''}` };
  }
}

const began = Date.now();
const backends = software ? ['webgpu'] : ['webgpu', 'tensorflow-gpu'];
const results = Object.fromEntries(backends.map((b) => [b, runBackend(b)]));
const torch = runTorchReference('bench/torch/gpu.py', [JSON.stringify(config), String(repeats)]);

const c = config;
console.log(
  `GPU benchmark${software ? ' on a software adapter (--software: SwiftShader, tiny sizes)' : ''}: iResNet-${c.depth} width ${c.width} at ${c.inputSize} px, ` +
    `training batch ${c.batch}, GAM batch ${c.gamBatch}, embedding batch ${c.embedBatch} (median of ${repeats} after a warm-up)`,
);
for (const [backend, figures] of Object.entries(results)) {
  console.log(
    `${backend.padEnd(15)} ${figures.error ? `not measured: ${figures.error}` : `adapter: ${figures.adapter ?? 'native TensorFlow'}`}`,
  );
}
const reference = torch.ok ? (torch.results as unknown as Figures) : null;
console.log(
  `PyTorch         ${reference ? `on ${reference.device}` : `not measured: ${torch.ok ? '' : torch.reason}`}`,
);

const ROWS = [
  ['GAM per image', 'gamPerImage', 'time'],
  ['baseline step', 'baseline', 'time'],
  ['GABN step', 'gabn', 'time'],
  ['embedding (audit)', 'imagesPerSecond', 'rate'],
] as const;
const show = (value: number | string | undefined, kind: string) =>
  typeof value !== 'number' ? 'n/a' : kind === 'time' ? formatSeconds(value) : `${value.toFixed(0)} img/s`;
const header = [
  'measure'.padEnd(18),
  ...backends.map((b) => b.padEnd(14)),
  'PyTorch'.padEnd(14),
  ...backends.map((b) => `${b} / PyTorch`),
];
console.log(header.join(' | '));
for (const [label, key, kind] of ROWS) {
  const ref = reference?.[key];
  const cells = backends.map((b) => show(results[b]![key], kind).padEnd(14));
  // A ratio above 1 means slower than PyTorch, for times and for rates alike.
  const ratios = backends.map((b) => {
    const ours = results[b]![key];
    if (typeof ours !== 'number' || typeof ref !== 'number') return 'n/a';
    const ratio = kind === 'time' ? ours / ref : ref / ours;
    return ratio >= 1 ? `${ratio.toFixed(2)}x slower` : `${(1 / ratio).toFixed(2)}x faster`;
  });
  console.log([label.padEnd(18), ...cells, show(ref, kind).padEnd(14), ...ratios].join(' | '));
}
for (const b of backends) {
  const f = results[b]!;
  if (typeof f.gabn === 'number' && typeof f.baseline === 'number') {
    console.log(`${b}: GABN / baseline ${(f.gabn / f.baseline).toFixed(2)}x (the paper: about 2.2x)`);
  }
}
console.log(`finished in ${Math.round((Date.now() - began) / 1000)} s`);
