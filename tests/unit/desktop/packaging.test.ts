/**
 * The build-time part of packaging (npm run dist): the desktop app's bundles exist and load without
 * TypeScript (the preload in a sandbox-like context that offers only 'electron'; the shell with a
 * stand-in for Electron; the service and a job's worker as the packaged app runs them), and
 * electron-builder's configuration packs them and unpacks from the asar every file that must be read
 * as a file: the wasm binaries, every native addon and shared library, resources/.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS } from '../../../main/api/contract.ts';
import { buildShell, PROJECT_ROOT, SHELL_ENTRIES } from '../../../main/cli/shell-build.ts';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
const config = pkg.build as Record<string, unknown> & { asarUnpack: string[]; files: string[] };

const outdir = path.join(PROJECT_ROOT, '.test-output', 'desktop-bundles');
let built: string[] = [];
beforeAll(async () => {
  rmSync(outdir, { recursive: true, force: true });
  built = await buildShell(outdir);
});

/** electron-builder's own matcher for a list of its glob patterns (relative to the project). */
function matcher(patterns: string[]): (relative: string) => boolean {
  const { FileMatcher } = require('app-builder-lib/out/fileMatcher.js');
  const filter = new FileMatcher(PROJECT_ROOT, PROJECT_ROOT, (s: string) => s, patterns).createFilter();
  return (relative) => {
    const file = path.join(PROJECT_ROOT, relative);
    return filter(file, existsSync(file) ? statSync(file) : { isDirectory: () => false });
  };
}

describe('the bundles', () => {
  it('are the four entries, with no TypeScript left in them', () => {
    expect(built.map((f) => path.basename(f)).sort()).toEqual(Object.keys(SHELL_ENTRIES).sort());
    for (const file of built) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/from ['"]tsx|require\(['"]tsx|require\(['"]typescript/);
    }
  });

  it('the preload requires only electron and exposes exactly the contract', async () => {
    const required: string[] = [];
    const invoked: string[] = [];
    let exposed: Record<string, (...args: unknown[]) => unknown> = {};
    const electron = {
      contextBridge: { exposeInMainWorld: (_: string, api: typeof exposed) => (exposed = api) },
      ipcRenderer: { invoke: async (channel: string) => invoked.push(channel), on() {}, removeListener() {} },
    };
    const module = { exports: {} };
    const sandbox = {
      module,
      exports: module.exports,
      require: (name: string) => {
        required.push(name);
        if (name !== 'electron') throw new Error(`the sandboxed preload may not require ${name}`);
        return electron;
      },
    };
    vm.runInNewContext(readFileSync(path.join(outdir, 'preload.cjs'), 'utf8'), sandbox);
    expect([...new Set(required)]).toEqual(['electron']);
    expect(Object.keys(exposed).sort()).toEqual([
      'call',
      'on',
      'pickCsvFile',
      'pickFolder',
      'pickModelFile',
      'saveReport',
    ]);
    for (const method of API_METHODS) await exposed.call!(method, null);
    expect(invoked).toEqual(API_METHODS.map((m) => `gabn:${m}`));
    await expect(exposed.call!('deleteEverything', null)).rejects.toThrow(/unknown API method/);
  });

  it('the shell loads with Electron stood in for, and registers its app:// scheme', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-shell-'));
    // Every Electron call the shell makes on loading is recorded; app.whenReady never resolves.
    writeFileSync(
      path.join(dir, 'electron.mjs'),
      `const calls = [];
process.on('exit', () => console.log(JSON.stringify(calls)));
const record = (name) => (...args) => { calls.push([name, args]); };
export const app = { whenReady: () => new Promise(() => {}), on: record('app.on'), getPath: () => '${dir}' };
export const protocol = { registerSchemesAsPrivileged: record('protocol.registerSchemesAsPrivileged'), handle: record('protocol.handle') };
export const BrowserWindow = class {}; export const dialog = {}; export const ipcMain = {}; export const session = {};
export default { app, protocol, BrowserWindow, dialog, ipcMain, session };`,
    );
    writeFileSync(
      path.join(dir, 'hooks.mjs'),
      `export async function resolve(specifier, context, next) {
  return specifier === 'electron' ? { url: new URL('./electron.mjs', import.meta.url).href, shortCircuit: true } : next(specifier, context);
}`,
    );
    writeFileSync(
      path.join(dir, 'register.mjs'),
      `import { register } from 'node:module'; register('./hooks.mjs', import.meta.url);`,
    );
    const run = spawnSync(
      process.execPath,
      ['--import', path.join(dir, 'register.mjs'), path.join(outdir, 'main.mjs')],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const calls = JSON.parse(run.stdout.trim().split('\n').slice(-1)[0]!) as [string, unknown[]][];
    const schemes = calls.find(([name]) => name === 'protocol.registerSchemesAsPrivileged')![1][0] as {
      scheme: string;
    }[];
    expect(schemes.map((s) => s.scheme)).toEqual(['app']);
    expect(calls.some(([name, args]) => name === 'app.on' && args[0] === 'web-contents-created')).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the service and its workers, as the packaged app runs them', () => {
    let host: ChildProcess;
    const answers = new Map<number, (message: Record<string, unknown>) => void>();
    const events: Record<string, unknown>[] = [];
    let workspace: string;
    beforeAll(() => {
      workspace = mkdtempSync(path.join(os.tmpdir(), 'gabn-bundled-'));
      host = fork(path.join(outdir, 'service-host.mjs'), [JSON.stringify({ workspace, host: 'browser' })], {
        execArgv: [],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, GABN_BACKEND: 'cpu' },
      });
      host.on('message', (message: Record<string, unknown>) => {
        if (typeof message.id === 'number') answers.get(message.id)?.(message);
        else if (typeof message.event === 'string') events.push(message);
      });
    });
    afterAll(() => {
      host?.disconnect();
      rmSync(workspace, { recursive: true, force: true });
    });
    let next = 1;
    const call = (method: string, argument: unknown) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const id = next++;
        answers.set(id, resolve);
        host.send({ id, method, argument });
      });

    it('answers the contract from its bundle', async () => {
      const answer = await call('getStatus', undefined);
      const status = answer.result as { version: string; backend: string; gpu: { state: string } };
      expect(status.version).toBe(pkg.version);
      expect(status.backend).toBe('cpu');
      expect(status.gpu.state.length).toBeGreaterThan(5);
    });

    it('runs a job in a worker started from the worker bundle', async () => {
      const answer = await call('startJob', {
        kind: 'synth',
        params: { out: 'faces', ids: 20, images: 2, trainIds: 0, size: 32 },
      });
      expect(answer.error).toBeUndefined();
      const id = (answer.result as { id: string }).id;
      const deadline = Date.now() + 90_000;
      while (!events.some((e) => e.event === 'job-finished' && (e.payload as { id: string }).id === id)) {
        if (Date.now() > deadline) throw new Error('the job did not finish');
        await new Promise((r) => setTimeout(r, 200));
      }
      const finished = events.find((e) => e.event === 'job-finished')!.payload as {
        state: string;
        runDir: string;
      };
      expect(finished.state, readFileSync(path.join(finished.runDir, 'log.txt'), 'utf8')).toBe('succeeded');
      expect(readdirSync(path.join(workspace, 'faces')).length).toBeGreaterThan(0);
    });
  });
});

describe("electron-builder's configuration", () => {
  it('runs the bundled shell and packs the bundles, the renderer, resources/ and no TypeScript', () => {
    const packed = matcher(config.files);
    expect(config.extraMetadata).toEqual({ main: 'dist-electron/main.mjs' });
    for (const name of Object.keys(SHELL_ENTRIES)) expect(packed(`dist-electron/${name}`), name).toBe(true);
    for (const file of ['renderer/dist/index.html', 'resources/colormaps.json', 'package.json']) {
      expect(packed(file), file).toBe(true);
    }
    for (const file of ['main/engine/index.ts', 'electron/main.ts', 'tests/unit/desktop/packaging.test.ts']) {
      expect(packed(file), file).toBe(false);
    }
  });

  it('unpacks from the asar every file the app must read as a file', () => {
    const unpacked = matcher(config.asarUnpack);
    const lock = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const opened: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
        const relative = `${dir}/${entry.name}`;
        if (entry.isDirectory()) {
          if (entry.name !== 'node_modules') walk(relative);
        } else if (dir.startsWith('resources') || /\.(node|wasm|dylib|dll)$|\.so(\.\d+)*$/.test(entry.name)) {
          opened.push(relative);
        }
      }
    };
    // The packages electron-builder ships: the production dependencies (dev ones are left out).
    for (const [dir, info] of Object.entries(lock.packages)) {
      if (dir !== '' && !info.dev && existsSync(path.join(PROJECT_ROOT, dir))) walk(dir);
    }
    walk('resources');
    // What the engine and the images need at run time is among them.
    for (const expected of [
      /tfjs-backend-wasm\/dist\/.*\.wasm$/,
      /@img\/sharp-.*\.node$/,
      /webgpu\/dist\/linux-x64\/dawn\.node$/,
      /^resources\/colormaps\.json$/,
    ]) {
      expect(
        opened.some((f) => expected.test(f)),
        String(expected),
      ).toBe(true);
    }
    expect(opened.filter((f) => !unpacked(f))).toEqual([]);
  });

  it('targets AppImage and deb on Linux, and declares the other platforms', () => {
    expect((config.linux as { target: string[] }).target).toEqual(['AppImage', 'deb']);
    expect((config.mac as { target: string[] }).target.length).toBeGreaterThan(0);
    expect((config.win as { target: string[] }).target.length).toBeGreaterThan(0);
    // The native addons are N-API: Electron's Node loads them as built, so nothing is rebuilt.
    expect(config.npmRebuild).toBe(false);
  });
});
