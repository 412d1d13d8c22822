/**
 * `npm start` → `gabn start`: makes the demo workspace ready (synthetic faces, and the real pretrained
 * network shipped in @vladmandic/face-api imported as a checkpoint), builds the renderer when it is
 * missing or stale, then opens the app: in Electron where its binary and a display exist, otherwise
 * in the browser host, saying why. Everything is reused on later runs; the workspace's place is
 * explained in main/api/workspace.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultWorkspace } from '../api/workspace.ts';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../data/synth/generate.ts';
import { findElectronBinary, type ToolLookup } from '../engine/host-tools.ts';
import { GabnError } from '../errors.ts';
import { importFaceApi } from '../models/importers/face-api.ts';
import { writeFaceApiCheckpoint } from '../models/importers/face-api-checkpoint.ts';
import { formatOptions, parseArgs } from './args.ts';
import { auditCommand } from './audit.ts';
import type { CliCommand, CliContext } from './command.ts';
import { progressLine } from './progress.ts';
import { ensureRendererBuilt } from './renderer-build.ts';
import { serveUntilAborted } from './serve.ts';

const options = {
  workspace: {
    type: 'string',
    description: 'the demo workspace (default $GABN_WORKSPACE or ~/.gabn-studio/demo)',
  },
  browser: { type: 'boolean', description: 'open the browser host even where Electron could run' },
  port: { type: 'number', description: 'the browser host port (default: any free port)' },
  audit: {
    type: 'boolean',
    description: 'also audit the network on the synthetic test set (reports/demo-audit.html and .json)',
  },
} as const;

const require = createRequire(import.meta.url);
const ELECTRON_ENTRY = fileURLToPath(new URL('../../electron/launch.mjs', import.meta.url));

/** Where the desktop app can run, or why it cannot. */
export function desktopAvailability(env: NodeJS.ProcessEnv = process.env): ToolLookup {
  const binary = findElectronBinary(require);
  if (!binary.available) return binary;
  if (process.platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { available: false, reason: 'no display (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
  }
  return binary;
}

async function prepareWorkspace(
  workspace: string,
  context: CliContext,
): Promise<{ data: string; checkpoint: string }> {
  const data = path.join(workspace, 'synthetic');
  const checkpoint = path.join(workspace, 'face-api.gabn');
  mkdirSync(workspace, { recursive: true });
  if (!existsSync(path.join(data, 'synth.json'))) {
    context.stdout.write('generating the synthetic face dataset (once)…\n');
    const progress = progressLine(context.stderr, 'rendering faces');
    await generateSyntheticDataset(
      data,
      { ...DEFAULT_SYNTH, seed: 7 },
      { force: true, signal: context.signal, onProgress: (p) => progress.update(p.done, p.total) },
    );
    progress.done();
  }
  if (!existsSync(path.join(checkpoint, 'checkpoint.json'))) {
    context.stdout.write('importing the pretrained face-api network (once)…\n');
    await writeFaceApiCheckpoint(checkpoint, await importFaceApi(), { force: true });
  }
  return { data, checkpoint };
}

async function audit(
  workspace: string,
  data: string,
  checkpoint: string,
  context: CliContext,
): Promise<number> {
  const reports = path.join(workspace, 'reports');
  mkdirSync(reports, { recursive: true });
  context.stdout.write(
    'auditing the network on the synthetic test set (embeddings are cached after the first run)…\n',
  );
  const code = await auditCommand.run(
    [
      '--checkpoint',
      checkpoint,
      '--data',
      path.join(data, 'rfw'),
      '--bootstrap',
      '500',
      '--attention-images',
      '16',
      '--out',
      path.join(reports, 'demo-audit.html'),
      '--out',
      path.join(reports, 'demo-audit.json'),
    ],
    context,
  );
  if (code === 0) context.stdout.write(`The report: ${path.join(reports, 'demo-audit.html')}\n`);
  return code;
}

function runElectron(binary: string, workspace: string, context: CliContext): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [ELECTRON_ENTRY, '--workspace', workspace], { stdio: 'inherit' });
    const stop = () => child.kill('SIGTERM');
    context.signal.addEventListener('abort', stop, { once: true });
    child.on('error', (error) =>
      reject(new GabnError('usage', `cannot start Electron (${binary}): ${error.message}`, { cause: error })),
    );
    child.on('exit', (code) => {
      context.signal.removeEventListener('abort', stop);
      resolve(code ?? 0);
    });
  });
}

export const startCommand: CliCommand = {
  path: ['start'],
  summary: 'open GABN Studio on the demo workspace (Electron, or the browser host)',
  usage: `gabn start [--workspace DIR] [--browser] [--port P] [--audit]\n\nCreates the demo workspace when it is missing (synthetic faces, gabn synth seed 7; the face-api\nnetwork as a checkpoint, gabn import face-api), builds the renderer when renderer/dist is missing or\nstale, then opens the app: the desktop app where an Electron binary and a display exist, otherwise\nthe browser host (gabn serve), printing why and the URL to open.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
    const port = o.port as number | undefined;
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      throw new GabnError('usage', `--port ${port}`, { expected: 'an integer in [0, 65535]' });
    }
    const workspace = path.resolve((o.workspace as string | undefined) ?? defaultWorkspace());
    context.stdout.write(`GABN Studio demo workspace: ${workspace}\n`);
    const { data, checkpoint } = await prepareWorkspace(workspace, context);
    if (o.audit === true) {
      const code = await audit(workspace, data, checkpoint, context);
      if (code !== 0) return code;
    }
    const built = await ensureRendererBuilt((line) => context.stdout.write(`${line}\n`));
    if (built === 'built') context.stdout.write('renderer built\n');
    const desktop = desktopAvailability();
    if (o.browser !== true && desktop.available) {
      context.stdout.write(`opening the desktop app (${desktop.path})\n`);
      return runElectron(desktop.path, workspace, context);
    }
    context.stdout.write(
      o.browser === true
        ? 'opening the browser host (--browser)\n'
        : `the desktop app cannot open here: ${desktop.available ? '' : desktop.reason}; opening the browser host instead\n`,
    );
    return serveUntilAborted(workspace, port, context);
  },
};
