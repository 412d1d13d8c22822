/**
 * `npm start` → `gabn start`: builds the renderer (and the desktop app's bundles, shell-build.ts)
 * when missing or stale, then opens the app on
 * the demo workspace: in Electron where a display exists and its binary is there or can be
 * downloaded, otherwise in the browser host, saying why. On first start the app prepares the demo
 * (main/api/demo-workspace.ts: synthetic faces, demo checkpoints) in a job whose progress it shows.
 * Everything is reused on later runs; the workspace's place is explained in main/api/workspace.ts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { findElectronBinary, type ToolLookup } from '../base/host-programs.ts';
import {
  type DemoLayout,
  demoCheckpoints,
  demoLayout,
  missingDemoParts,
  prepareDemoWorkspace,
} from '../usecases/workspace/demo-workspace.ts';
import { formatOptions, parseArgs } from './args.ts';
import { auditCommand } from './audit.ts';
import type { CliCommand, CliContext } from './command.ts';
import { progressLine } from './progress.ts';
import { ensureRendererBuilt } from './renderer-build.ts';
import { portOption, serveUntilAborted, workspaceOption } from './serve.ts';
import { ensureShellBuilt, SHELL_DIST } from './shell-build.ts';

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

function hasDisplay(env: NodeJS.ProcessEnv): boolean {
  return process.platform !== 'linux' || Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/** Where the desktop app can run, or every reason why it cannot. */
export function desktopAvailability(env: NodeJS.ProcessEnv = process.env): ToolLookup {
  const binary = findElectronBinary(require);
  const reasons: string[] = [];
  if (!hasDisplay(env)) reasons.push('there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)');
  if (!binary.available) reasons.push(binary.reason);
  return reasons.length === 0 ? binary : { available: false, reason: reasons.join('; and ') };
}

/**
 * The electron package downloads its binary on first launch. Where a display exists but the binary
 * does not yet, fetch it now (once), showing the package's own progress; on failure (no internet)
 * the browser host opens instead.
 */
function downloadElectron(context: CliContext): Promise<void> {
  let installer: string;
  try {
    installer = require.resolve('electron/install.js');
  } catch {
    return Promise.resolve();
  }
  context.stdout.write('downloading the Electron binary (once)…\n');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [installer], { stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGTERM'), 10 * 60_000);
    const stop = () => child.kill('SIGTERM');
    context.signal.addEventListener('abort', stop, { once: true });
    const done = () => {
      clearTimeout(timer);
      context.signal.removeEventListener('abort', stop);
      resolve();
    };
    child.on('error', done);
    child.on('exit', done);
  });
}

/** The demo made in this process, with a progress bar (for --audit, which needs it before the app). */
async function prepareInCli(workspace: string, context: CliContext): Promise<DemoLayout> {
  const missing = missingDemoParts(workspace);
  if (missing.length === 0) return demoLayout(workspace);
  context.stdout.write(`preparing the demo workspace (once): ${missing.join(', ')}…\n`);
  let progress: ReturnType<typeof progressLine> | undefined;
  let label = '';
  const layout = await prepareDemoWorkspace(workspace, {
    signal: context.signal,
    onProgress: (p) => {
      if (p.message !== label) {
        progress?.done();
        label = p.message;
        progress = progressLine(context.stderr, label);
      }
      progress?.update(p.done, p.total);
    },
  });
  progress?.done();
  return layout;
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
    const child = spawn(
      binary,
      [path.join(SHELL_DIST, 'main.mjs'), '--workspace', workspace, '--prepare-demo'],
      {
        stdio: 'inherit',
      },
    );
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
  usage: `gabn start [--workspace DIR] [--browser] [--port P] [--audit]\n\nBuilds the renderer when renderer/dist is missing or stale, then opens the app on the demo\nworkspace: the desktop app where a display exists and the Electron binary is present (it is\ndownloaded on first use), otherwise the browser host (gabn serve), printing why and the URL to open.\nOn first start the app prepares the demo (synthetic faces, gabn synth seed 7; the demo checkpoints,\nor the face-api network imported) and shows its progress. --audit prepares it here first and\nwrites reports/demo-audit.html and .json.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
    const port = portOption(o.port);
    const workspace = workspaceOption(o.workspace);
    context.stdout.write(`GABN Studio demo workspace: ${workspace}\n`);
    if (o.audit === true) {
      const layout = await prepareInCli(workspace, context);
      const code = await audit(workspace, layout.data, demoCheckpoints(layout)[0]!, context);
      if (code !== 0) return code;
    }
    const built = await ensureRendererBuilt((line) => context.stdout.write(`${line}\n`));
    if (built === 'built') context.stdout.write('renderer built\n');
    let desktop = desktopAvailability();
    if (o.browser !== true && !desktop.available && hasDisplay(process.env)) {
      await downloadElectron(context);
      desktop = desktopAvailability();
    }
    if (o.browser !== true && desktop.available) {
      if ((await ensureShellBuilt((line) => context.stdout.write(`${line}\n`))) === 'built') {
        context.stdout.write('desktop app built\n');
      }
      context.stdout.write(`opening the desktop app (${desktop.path})\n`);
      return runElectron(desktop.path, workspace, context);
    }
    context.stdout.write(
      o.browser === true
        ? 'opening the browser host (--browser)\n'
        : `the desktop app cannot open here: ${desktop.available ? '' : desktop.reason}.\nOpening the browser host instead: the same app, in a browser on this machine.\n`,
    );
    // The app prepares whatever the demo lacks on first start, with its progress shown in the window.
    return serveUntilAborted(workspace, port, context, { prepareDemo: true });
  },
};
