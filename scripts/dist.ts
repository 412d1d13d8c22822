// `npm run dist [-- electron-builder options]`: the desktop app packaged with electron-builder, by
// default for this platform's targets (Linux: AppImage and deb; macOS: dmg; Windows: nsis), into
// release/. The renderer and the app's bundles are built first (no TypeScript runs in the app). Its
// configuration is package.json's "build": the wasm binaries, native addons (sharp, Dawn) and
// resources/ unpacked from the asar; no rebuild of the addons (all N-API: Electron's Node loads them
// as they are). electron-builder downloads the Electron binary for the target (unless
// node_modules/electron/dist holds it) and its packaging tools (AppImage, fpm) from GitHub releases:
// where it cannot, this says so.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { findElectronBinary } from '../main/base/host-programs.ts';
import { ensureRendererBuilt } from '../main/cli/renderer-build.ts';
import { buildShell, PROJECT_ROOT } from '../main/cli/shell-build.ts';

const require = createRequire(import.meta.url);
const UNREACHABLE =
  /ENOTFOUND|EAI_AGAIN|getaddrinfo|ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|unable to get local issuer/;

await ensureRendererBuilt((line) => console.log(line));
for (const file of await buildShell()) console.log(`built ${path.relative(PROJECT_ROOT, file)}`);

const args = process.argv.slice(2);
const electron = findElectronBinary(require);
if (electron.available) {
  // The binary the electron package downloaded: electron-builder then need not fetch it.
  args.push(`-c.electronDist=${path.join(path.dirname(require.resolve('electron/package.json')), 'dist')}`);
} else {
  console.log(`no local Electron binary (${electron.reason}): electron-builder will download it`);
}
const child = spawn(process.execPath, [require.resolve('electron-builder/cli.js'), ...args], {
  cwd: PROJECT_ROOT,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
for (const stream of [child.stdout, child.stderr]) {
  stream.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    (stream === child.stdout ? process.stdout : process.stderr).write(chunk);
  });
}
const code = await new Promise<number>((resolve) => child.on('close', (status) => resolve(status ?? 1)));
if (code !== 0 && UNREACHABLE.test(output)) {
  console.error(
    [
      '',
      'npm run dist: electron-builder could not download what it packages the app with (the Electron',
      `binary for the target${electron.available ? ' platform' : ''}, and the AppImage and fpm tools), because`,
      'GitHub releases cannot be reached from this machine. The build-time part is done: dist-electron/',
      'holds the bundles and renderer/dist the renderer. Run npm run dist on a machine with internet',
      'access, or put the Electron binary in node_modules/electron/dist (its own download) first.',
    ].join('\n'),
  );
}
process.exit(code);
