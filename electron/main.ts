/**
 * The Electron shell: app lifecycle, the window, native dialogs, and the bridge from the renderer to
 * the service. Thin: everything else is in main/. This folder is the only place that imports
 * 'electron'.
 *
 * Security (Electron's checklist): the renderer runs with contextIsolation, sandbox and no
 * nodeIntegration; it is loaded from the app:// protocol (served from renderer/dist and the service's
 * media, with a strict Content-Security-Policy), never from file:// or the web; navigation away and
 * new windows are blocked; permission requests are denied; every IPC message's sender is checked
 * (ipc.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, protocol, session } from 'electron';
import { OutsideError, resolveContained } from '../main/api/containment.ts';
import { API_EVENTS } from '../main/api/contract.ts';
import { contentSecurityPolicy, REPORT_CSP } from '../main/api/csp.ts';
import { STATIC_TYPES } from '../main/api/http.ts';
import { createMediaServer } from '../main/api/media.ts';
import { createRemoteService } from '../main/api/remote-service.ts';
import type { HostedService } from '../main/api/service.ts';
import { bundleFolder } from '../main/base/bundle.ts';
import { errorFields } from '../main/base/errors.ts';
import { defaultWorkspace } from '../main/usecases/workspace/workspace.ts';
import { APP_ORIGIN, handleValidated, registerApi } from './ipc.ts';
import { saveReport } from './report-export.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(HERE, '../renderer/dist');

function workspaceArgument(): string {
  const i = process.argv.indexOf('--workspace');
  return path.resolve(i !== -1 && process.argv[i + 1] ? process.argv[i + 1]! : defaultWorkspace());
}

/**
 * The sandboxed preload is one CommonJS file that requires only 'electron', bundled at build time
 * beside this file's bundle (scripts/build-electron.js): no TypeScript runs in the app.
 */
function preloadFile(): string {
  const folder = bundleFolder();
  if (folder === undefined) {
    throw new Error(
      'the desktop shell runs from its bundle: build it with npm run build:electron (gabn start does)',
    );
  }
  return path.join(folder, 'preload.cjs');
}

function respond(
  body: Buffer | string,
  type: string,
  status = 200,
  extra: Record<string, string> = {},
): Response {
  return new Response(typeof body === 'string' ? body : new Uint8Array(body), {
    status,
    headers: { 'Content-Type': type, 'X-Content-Type-Options': 'nosniff', ...extra },
  });
}

/** app://gabn/… : the renderer's files and the media under media/… (same paths as the browser host). */
function serveApp(service: HostedService): (request: Request) => Promise<Response> {
  const media = createMediaServer(service);
  return async (request) => {
    const url = new URL(request.url);
    if (`${url.protocol}//${url.host}` !== APP_ORIGIN) return respond('not found', 'text/plain', 404);
    try {
      const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
      if (segments[0] === 'media') {
        const bytes = await media.get(segments.slice(1), url.searchParams);
        // A report shown in the app's frame: its own policy, no script, in a sandbox of its own.
        const extra: Record<string, string> = bytes.mime.startsWith('text/html')
          ? { 'Content-Security-Policy': REPORT_CSP }
          : {};
        return respond(Buffer.from(bytes.base64, 'base64'), bytes.mime, 200, extra);
      }
      const relative = url.pathname === '/' ? 'index.html' : `.${decodeURIComponent(url.pathname)}`;
      const file = resolveContained([DIST], relative, DIST);
      const type = STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream';
      const csp: Record<string, string> = type.startsWith('text/html')
        ? { 'Content-Security-Policy': contentSecurityPolicy() }
        : {};
      return respond(readFileSync(file), type, 200, csp);
    } catch (error) {
      const e = errorFields(error);
      return respond(
        JSON.stringify({ error: e }),
        'application/json',
        error instanceof OutsideError ? 403 : 404,
      );
    }
  };
}

protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

async function start(): Promise<void> {
  await app.whenReady();
  // `gabn start` asks for the demo to be prepared on first start (its progress shows in the window).
  // The service runs in a process of its own: engine work never blocks the window's process.
  const service = createRemoteService({
    workspace: workspaceArgument(),
    host: 'electron',
    prepareDemo: process.argv.includes('--prepare-demo'),
  });
  protocol.handle('app', serveApp(service));
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  registerApi(ipcMain, service);

  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'GABN Studio',
    show: false,
    webPreferences: {
      preload: preloadFile(),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  handleValidated(ipcMain, 'gabn:pick-folder', async (title) => {
    const result = await dialog.showOpenDialog(window, {
      title: String(title),
      properties: ['openDirectory'],
    });
    return result.canceled ? undefined : result.filePaths[0];
  });
  handleValidated(ipcMain, 'gabn:pick-csv-file', async (title) => {
    const result = await dialog.showOpenDialog(window, {
      title: String(title),
      properties: ['openFile'],
      filters: [{ name: 'CSV', extensions: ['csv'] }],
    });
    return result.canceled ? undefined : result.filePaths[0];
  });
  handleValidated(ipcMain, 'gabn:pick-model-file', async (title) => {
    const result = await dialog.showOpenDialog(window, {
      title: String(title),
      properties: ['openFile'],
      // What gabn import reads (usecases/import/import-model.ts): ONNX, PyTorch state dicts, tfjs graphs.
      filters: [{ name: 'Model files', extensions: ['onnx', 'pth', 'pt', 'safetensors', 'json'] }],
    });
    return result.canceled ? undefined : result.filePaths[0];
  });
  handleValidated(ipcMain, 'gabn:save-report', (request) => saveReport(window, service, request));
  const offs = API_EVENTS.map((event) =>
    service.on(event, (payload) => {
      if (!window.isDestroyed()) window.webContents.send('gabn:event', { event, payload });
    }),
  );
  window.once('ready-to-show', () => window.show());
  await window.loadURL(`${APP_ORIGIN}/index.html`);

  app.on('window-all-closed', () => {
    for (const off of offs) off();
    void service.close().finally(() => app.quit());
  });
}

// Every web contents, present and future: no navigation away from the app, no new windows.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-attach-webview', (event) => event.preventDefault());
});

start().catch((error: unknown) => {
  dialog.showErrorBox('GABN Studio could not start', error instanceof Error ? error.message : String(error));
  app.exit(1);
});
