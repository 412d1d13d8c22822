/**
 * The browser host (`gabn serve`): the same service as the Electron app, over HTTP and a WebSocket,
 * for a browser on this machine.
 *
 * Security model (as Jupyter's; docs/security.md): it binds 127.0.0.1 only; a random token made at
 * each start is required on every request and WebSocket connection, given once as `?token=` (then kept
 * in an HttpOnly SameSite=Strict cookie whose name carries the port, so two hosts never overwrite each
 * other's) or as `Authorization: Bearer`; the Host header must name the loopback address (no DNS
 * rebinding), a cross-origin Origin is refused, and so is anything a browser marks as coming from
 * another site or origin (`Sec-Fetch-Site`: another local port is the same *site*, and its pages
 * would otherwise load `/media/...` as images with the cookie); files are served only from inside the
 * opened datasets, checkpoints and runs, compared as real paths (no `..`, no links out). A body is at
 * most 1 MiB (413) and nests at most 64 levels (400), so no request can exhaust the host.
 *
 *   GET  /                          the renderer (renderer/dist)
 *   POST /api/<method>              body: the method's argument as JSON; answer {result} or {error}
 *   GET  /media/image/<d>/<i>       an image as stored (?aligned=N: aligned to the template at N px)
 *   GET  /media/gam/<c>/<d>/<i>     its attention overlay as PNG (?method, colormap, opacity)
 *   GET  /media/run/<job>/<file>    a file of a job's run directory
 *   GET  /media/report/<id>.html    a report as the app shows it (?faces=0: face images left out)
 *   GET  /files/<absolute path>     a file inside an opened dataset, checkpoint or run
 *   WS   /events                    job-progress, job-log and job-finished events
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { errorFields, GabnError, isGabnError } from '../base/errors.ts';
import { readUntrustedFile } from '../base/untrusted-files.ts';
import { MAX_SERVED_FILE_BYTES, OutsideError, resolveContained } from './containment.ts';
import { API_EVENTS, type ImageBytes } from './contract.ts';
import { contentSecurityPolicy, REPORT_CSP } from './csp.ts';
import {
  BodyTooLarge,
  bearerToken,
  cookieToken,
  decodeSegment,
  fromOwnPage,
  parseArgument,
  readBody,
  sameToken,
  splitUrl,
  tokenCookieName,
} from './http-requests.ts';
import { createMediaServer } from './media.ts';
import type { HostedService } from './service.ts';
import { isApiMethod } from './validation.ts';

export { MAX_BODY, MAX_NESTING, tokenCookieName } from './http-requests.ts';

export const DEFAULT_RENDERER_DIST = fileURLToPath(new URL('../../renderer/dist', import.meta.url));
export interface BrowserHostOptions {
  readonly port?: number;
  /** Defaults to a fresh random token. */
  readonly token?: string;
  readonly rendererDist?: string;
}

export interface BrowserHost {
  readonly port: number;
  readonly token: string;
  /** http://127.0.0.1:P/?token=… */
  readonly url: string;
  close(): Promise<void>;
}

/** Content types of the renderer's files (the Electron shell serves the same files). */
export const STATIC_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

function statusOf(error: unknown): number {
  if (error instanceof OutsideError) return 403;
  if (error instanceof BodyTooLarge) return 413;
  if (!isGabnError(error)) return 500;
  switch (error.kind) {
    case 'missing-file':
      return 404;
    case 'internal':
      return 500;
    default:
      return 400;
  }
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
}

function sendError(response: ServerResponse, error: unknown): void {
  sendJson(response, statusOf(error), { error: errorFields(error) });
}

function sendBytes(request: IncomingMessage, response: ServerResponse, image: ImageBytes): void {
  const etag = `"${image.etag}"`;
  const headers = {
    ETag: etag,
    'Cache-Control': 'private, max-age=3600',
    'X-Content-Type-Options': 'nosniff',
  };
  if (request.headers['if-none-match'] === etag) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  const body = Buffer.from(image.base64, 'base64');
  // A report shown in the app's frame: its own policy, no script, in a sandbox of its own.
  const policy = image.mime.startsWith('text/html') ? { 'Content-Security-Policy': REPORT_CSP } : {};
  response.writeHead(200, {
    ...headers,
    ...policy,
    'Content-Type': image.mime,
    'Content-Length': body.length,
  });
  response.end(body);
}

export async function startBrowserHost(
  service: HostedService,
  options: BrowserHostOptions = {},
): Promise<BrowserHost> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const dist = options.rendererDist ?? DEFAULT_RENDERER_DIST;
  const media = createMediaServer(service);
  let port = 0;
  let cookie = tokenCookieName(0);

  const allowedHosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];
  const ownOrigins = () => allowedHosts().map((h) => `http://${h}`);

  /**
   * The token, from the header or the address (a page of another site cannot know it), or from the
   * cookie, which a browser also attaches to requests that other local pages make: a request that
   * carries only the cookie must come from the app's own page, as its browser says (Sec-Fetch-Site,
   * or for a WebSocket, the Origin that browsers always send there).
   */
  function authorised(request: IncomingMessage, query: URLSearchParams, websocket = false): boolean {
    if (sameToken(bearerToken(request), token) || sameToken(query.get('token') ?? undefined, token)) {
      return true;
    }
    if (!sameToken(cookieToken(request, cookie), token)) return false;
    return websocket ? request.headers.origin !== undefined : fromOwnPage(request) === true;
  }

  function hostAndOriginAllowed(request: IncomingMessage): boolean {
    if (!allowedHosts().includes(request.headers.host ?? '')) return false;
    if (fromOwnPage(request) === false) return false;
    const origin = request.headers.origin;
    return origin === undefined || ownOrigins().includes(origin);
  }

  async function serveStatic(response: ServerResponse, pathname: string): Promise<void> {
    if (!existsSync(path.join(dist, 'index.html'))) {
      response.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(
        `The renderer is not built (${dist} is missing): run 'npm run build:renderer' or 'gabn start'.\n`,
      );
      return;
    }
    let file = path.join(dist, 'index.html');
    if (pathname !== '/' && pathname !== '/index.html') {
      try {
        file = resolveContained([dist], `.${decodeSegment(pathname)}`, dist);
        if (statSync(file).isDirectory()) throw new GabnError('missing-file', 'a folder');
      } catch (error) {
        if (error instanceof OutsideError) throw error;
        response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        response.end('not found\n');
        return;
      }
    }
    const type = STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream';
    const html = type.startsWith('text/html');
    response.writeHead(200, {
      'Content-Type': type,
      'Cache-Control': html ? 'no-store' : 'private, max-age=600',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      ...(html
        ? {
            'Content-Security-Policy': contentSecurityPolicy([
              `ws://127.0.0.1:${port}`,
              `ws://localhost:${port}`,
            ]),
            'X-Frame-Options': 'DENY',
          }
        : {}),
    });
    response.end(await readFile(file));
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { pathname, query } = splitUrl(request.url ?? '/');
    if (!hostAndOriginAllowed(request)) {
      sendJson(response, 403, {
        error: {
          kind: 'usage',
          message:
            'the host, origin or site of this request is not this server (requests from other pages are refused)',
        },
      });
      return;
    }
    if (!authorised(request, query)) {
      sendJson(response, 401, {
        error: { kind: 'usage', message: 'a token is required: open the URL that gabn serve printed' },
      });
      return;
    }
    // The first page load carries the token in the URL: keep it in a cookie and drop it from the address bar.
    if (query.has('token') && request.method === 'GET' && (pathname === '/' || pathname === '/index.html')) {
      response.writeHead(303, {
        'Set-Cookie': `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        Location: '/',
        'Cache-Control': 'no-store',
      });
      response.end();
      return;
    }
    if (pathname.startsWith('/api/')) {
      if (request.method !== 'POST') {
        sendJson(response, 405, { error: { kind: 'usage', message: 'API calls are POST requests' } });
        return;
      }
      const method = pathname.slice(5);
      if (!isApiMethod(method)) {
        sendJson(response, 404, {
          error: { kind: 'usage', message: `unknown API method '${method.slice(0, 60)}'` },
        });
        return;
      }
      const argument = parseArgument(method, await readBody(request));
      sendJson(response, 200, { result: await service.call(method, argument) });
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendJson(response, 405, { error: { kind: 'usage', message: 'only GET here' } });
      return;
    }
    const segments = pathname.split('/').slice(1);
    if (segments[0] === 'media') {
      sendBytes(request, response, await media.get(segments.slice(1).map(decodeSegment), query));
      return;
    }
    if (segments[0] === 'files') {
      const requested = decodeSegment(pathname.slice('/files'.length));
      const file = resolveContained(service.allowedRoots(), requested);
      const body = readUntrustedFile(file, { what: 'the file', maxBytes: MAX_SERVED_FILE_BYTES });
      const ext = path.extname(file).toLowerCase();
      const mime =
        ext === '.png'
          ? 'image/png'
          : ext === '.jpg' || ext === '.jpeg'
            ? 'image/jpeg'
            : 'application/octet-stream';
      response.writeHead(200, {
        'Content-Type': mime,
        'Content-Length': body.length,
        'X-Content-Type-Options': 'nosniff',
      });
      response.end(body);
      return;
    }
    await serveStatic(response, pathname);
  }

  const server = http.createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      // The rest of a refused body is not read: close the connection after the answer.
      if (error instanceof BodyTooLarge) response.setHeader('Connection', 'close');
      sendError(response, error);
    });
  });

  const sockets = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  server.on('upgrade', (request, socket, head) => {
    const { pathname, query } = splitUrl(request.url ?? '/');
    if (pathname !== '/events' || !hostAndOriginAllowed(request) || !authorised(request, query, true)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => {
      // A frame over maxPayload or a broken frame is an 'error' on the socket: close that one only.
      ws.on('error', () => ws.terminate());
      sockets.emit('connection', ws, request);
    });
  });
  const unsubscribe = API_EVENTS.map((event) =>
    service.on(event, (payload) => {
      const message = JSON.stringify({ event, payload });
      for (const client of sockets.clients) if (client.readyState === client.OPEN) client.send(message);
    }),
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new GabnError(
          'usage',
          `cannot listen on 127.0.0.1:${options.port ?? 0}: ${error.code ?? error.message}`,
          {
            expected: 'a free port',
          },
        ),
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  cookie = tokenCookieName(port);

  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    async close() {
      for (const off of unsubscribe) off();
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
