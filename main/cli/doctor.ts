import { createRequire } from 'node:module';
import os from 'node:os';
import { findChromium, findElectronBinary } from '../base/host-programs.ts';
import { BACKEND_LADDER, loadEngine, type RungStatus, summariseGpu, tf } from '../engine/index.ts';
import { probeRung } from '../engine/probe.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';

const options = {
  json: { type: 'boolean', description: 'print the report as JSON' },
} as const;

const require = createRequire(import.meta.url);

export const doctorCommand: CliCommand = {
  path: ['doctor'],
  summary: 'show the compute backend and why, and what this machine offers',
  usage: `gabn doctor [--json]\n\nReports the TensorFlow.js backend in use and why, every rung of the backend ladder with its\nstatus and reason, the GPU adapter the webgpu rung found (vendor, architecture, device, buffer\nlimits) or why there is none, the tfjs version, wasm SIMD/threads, cores, memory, and whether an\nElectron binary and a Chromium are available.\n\nGABN_BACKEND=tensorflow-gpu|tensorflow|webgpu|wasm|cpu forces a backend (a forced webgpu also takes a\nsoftware adapter, which the ladder refuses).\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: opts } = parseArgs(args, options);
    const engine = await loadEngine();
    const rungs: RungStatus[] = [];
    for (const rung of engine.choice.rungs) {
      // A forced rung leaves the others untried: probe them so the report still says what this machine has.
      if (rung.status !== 'not-tried') {
        rungs.push(rung);
        continue;
      }
      const probed = await probeRung(rung.name);
      rungs.push(
        probed.status === 'available'
          ? { ...probed, reason: `${probed.reason}; not in use: ${rung.reason}` }
          : probed,
      );
    }
    const wasm =
      engine.backend === 'wasm' || rungs.some((r) => r.name === 'wasm' && r.status !== 'unavailable');
    const webgpu = rungs.find((r) => r.name === 'webgpu')!;
    const report = {
      backend: engine.backend,
      why: engine.choice.why,
      ladder: rungs,
      gpu: { ...summariseGpu(webgpu), details: webgpu.adapter ?? null },
      tfjs: tf.version_core,
      wasm: wasm
        ? {
            simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
            threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
          }
        : null,
      gradientCorrections: engine.corrections?.installed ?? [],
      cores: os.cpus().length,
      memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
      node: process.versions.node,
      electron: findElectronBinary(require),
      chromium: findChromium(),
    };
    if (opts.json) {
      context.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `backend      ${report.backend} (${report.why})`,
      'ladder',
      ...BACKEND_LADDER.map((name) => {
        const rung = rungs.find((r) => r.name === name)!;
        return `  ${name.padEnd(15)} ${rung.status.padEnd(12)} ${rung.reason}`;
      }),
      `gpu          ${report.gpu.adapter ?? 'no adapter'}: ${report.gpu.state}`,
      `tfjs         ${report.tfjs}`,
      `wasm         ${report.wasm ? `SIMD ${report.wasm.simd ? 'yes' : 'no'}, threads ${report.wasm.threads ? 'yes' : 'no (tfjs disables wasm threads in Node)'}` : 'not loaded'}`,
      `corrections  ${report.gradientCorrections.length} gradient/kernel corrections installed`,
      `machine      ${report.cores} cores, ${report.memoryGiB} GiB memory, Node ${report.node}`,
      `electron     ${report.electron.available ? report.electron.path : `unavailable: ${report.electron.reason}`}`,
      `chromium     ${report.chromium.available ? report.chromium.path : `unavailable: ${report.chromium.reason}`}`,
    ];
    context.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
