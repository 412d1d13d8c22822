/**
 * The browser host against requests a hostile local page or program would send: bodies over the
 * limit, JSON nested 10^5 levels deep (hundreds of times), requests a browser marks as coming from
 * another site or origin (another local port is the same site), the cookie of another host on
 * 127.0.0.1, broken WebSocket frames, and images swapped for links out of their dataset after the
 * dataset was opened. Every one gets a clear answer, and the host answers the next request.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type BrowserHost, MAX_BODY, startBrowserHost, tokenCookieName } from '../../../main/api/http.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { makeTinyWorkspace, type TinyWorkspace } from './tiny-workspace.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let base: string;
let tiny: TinyWorkspace;
let service: GabnService;
let host: BrowserHost;
let secret: string;

function request(
  target: BrowserHost,
  rawPath: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    chunked?: boolean;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { Host: `127.0.0.1:${target.port}`, ...options.headers };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: target.port, path: rawPath, method: options.method ?? 'GET', headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    // The host may close the connection while a refused body is still being sent.
    req.on('error', (error) => reject(error));
    if (options.chunked && options.body !== undefined) {
      const body = Buffer.from(options.body);
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
      req.end();
    } else req.end(options.body);
  });
}

const bearer = (target: BrowserHost) => ({ Authorization: `Bearer ${target.token}` });

function api(method: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return request(host, `/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer(host), ...headers },
    body,
  });
}

async function stillServes(): Promise<void> {
  const status = await api('getStatus', '');
  expect(status.status).toBe(200);
}

beforeAll(async () => {
  base = mkdtempSync(path.join(os.tmpdir(), 'gabn-hostile-'));
  tiny = await makeTinyWorkspace(path.join(base, 'workspace'));
  secret = path.join(base, 'secret.txt');
  writeFileSync(secret, 'root:x:0:0:not for the browser');
  mkdirSync(path.join(base, 'dist'));
  writeFileSync(path.join(base, 'dist', 'index.html'), '<!doctype html><title>GABN Studio</title>');
  service = createService({ workspace: tiny.workspace, host: 'browser', embeddingCacheDir: null });
  host = await startBrowserHost(service, { rendererDist: path.join(base, 'dist') });
});

afterAll(async () => {
  await host?.close();
  await service?.close();
  rmSync(base, { recursive: true, force: true });
});

describe('request bodies', () => {
  it('answers 413 with a clear message to a body over 1 MiB, declared or sent in chunks', async () => {
    const big = `"${'x'.repeat(MAX_BODY + 10)}"`;
    for (const chunked of [false, true]) {
      const answer = await request(host, '/api/openDataset', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...bearer(host) },
        body: big,
        chunked,
      });
      expect(answer.status, `chunked ${chunked}`).toBe(413);
      expect(JSON.parse(answer.body).error.message).toMatch(
        `the request body is larger than ${MAX_BODY} bytes`,
      );
      expect(answer.headers.connection).toBe('close');
    }
    await stillServes();
  });

  it('refuses JSON nested deeper than 64 levels without parsing it, hundreds of times, and keeps serving', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 300; i++) {
      const answer = await api('openDataset', deep);
      expect(answer.status).toBe(400);
      if (i === 0)
        expect(JSON.parse(answer.body).error.message).toMatch(
          /^openDataset: the request body nests deeper than 64 levels/,
        );
    }
    // Nothing of a refused request is kept (each would have left ~20 MB).
    global.gc?.();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 1024 ** 2);
    // Objects count as arrays do; 64 levels pass to the method's own checks.
    const objects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    expect(JSON.parse((await api('listImages', objects(65))).body).error.message).toMatch(
      /nests deeper than 64/,
    );
    const at64 = JSON.parse((await api('listImages', objects(64))).body).error.message;
    expect(at64).toMatch(/^listImages: unknown field a/);
    // Brackets inside strings are text, not nesting.
    expect((await api('openDataset', JSON.stringify('['.repeat(1000)))).status).toBe(404);
    await stillServes();
  });
});

describe('requests from other pages', () => {
  it('refuses what a browser marks as coming from another site or origin, even with the token', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const answer = await api('getStatus', '', { 'Sec-Fetch-Site': site });
      expect(answer.status, site).toBe(403);
      expect(JSON.parse(answer.body).error.message).toMatch(/requests from other pages are refused/);
    }
    expect((await api('getStatus', '', { 'Sec-Fetch-Site': 'same-origin' })).status).toBe(200);
    expect((await api('getStatus', '', { 'Sec-Fetch-Site': 'none' })).status).toBe(200);
  });

  it('takes the cookie alone only from a request the browser says comes from the app itself', async () => {
    const dataset = JSON.parse((await api('openDataset', JSON.stringify(tiny.rfw))).body).result as {
      id: string;
    };
    const cookie = { Cookie: `${tokenCookieName(host.port)}=${host.token}` };
    const image = `/media/image/${dataset.id}/0`;
    // An <img> on a page of another local port: same site, and the cookie goes with it.
    const subresource = await request(host, image, {
      headers: {
        ...cookie,
        'Sec-Fetch-Site': 'same-site',
        'Sec-Fetch-Dest': 'image',
        'Sec-Fetch-Mode': 'no-cors',
      },
    });
    expect(subresource.status).toBe(403);
    // A client that does not say where the request comes from must give the token itself.
    expect((await request(host, image, { headers: cookie })).status).toBe(401);
    expect(
      (await request(host, image, { headers: { ...cookie, 'Sec-Fetch-Site': 'same-origin' } })).status,
    ).toBe(200);
    expect((await request(host, '/', { headers: { ...cookie, 'Sec-Fetch-Site': 'none' } })).status).toBe(200);
    // A POST that starts work (an attention map) from another page is refused the same way.
    const post = await request(host, '/api/listDatasets', {
      method: 'POST',
      headers: { ...cookie, 'Sec-Fetch-Site': 'same-site', Origin: 'http://127.0.0.1:1' },
    });
    expect(post.status).toBe(403);
  });

  it('names the cookie after the port, so two hosts on 127.0.0.1 keep their own', async () => {
    const other = await startBrowserHost(service, { rendererDist: path.join(base, 'dist') });
    try {
      const setOf = async (target: BrowserHost) =>
        String(
          (await request(target, `/?token=${target.token}`, { headers: { 'Sec-Fetch-Site': 'none' } }))
            .headers['set-cookie'],
        );
      expect(await setOf(host)).toMatch(new RegExp(`^gabn_token_${host.port}=`));
      expect(await setOf(other)).toMatch(new RegExp(`^gabn_token_${other.port}=`));
      // The browser sends both cookies to both hosts (cookies ignore ports): each reads its own only.
      const both = `${tokenCookieName(host.port)}=${host.token}; ${tokenCookieName(other.port)}=${other.token}`;
      for (const target of [host, other]) {
        const answer = await request(target, '/', {
          headers: { Cookie: both, 'Sec-Fetch-Site': 'same-origin' },
        });
        expect(answer.status).toBe(200);
      }
      const wrong = `${tokenCookieName(other.port)}=${host.token}`;
      expect(
        (await request(other, '/', { headers: { Cookie: wrong, 'Sec-Fetch-Site': 'same-origin' } })).status,
      ).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe('WebSocket', () => {
  function connect(headers: Record<string, string>): Promise<{ outcome: string; ws: WebSocket }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}/events`, { headers });
      ws.on('unexpected-response', (_req, res) => resolve({ outcome: `HTTP ${res.statusCode}`, ws }));
      ws.on('open', () => resolve({ outcome: 'open', ws }));
      ws.on('error', () => resolve({ outcome: 'error', ws }));
    });
  }

  it('takes the cookie only with the own Origin, and refuses other sites', async () => {
    const cookie = `${tokenCookieName(host.port)}=${host.token}`;
    expect((await connect({ Cookie: cookie })).outcome).toBe('HTTP 401');
    expect((await connect({ Cookie: cookie, Origin: 'http://127.0.0.1:1' })).outcome).toBe('HTTP 401');
    expect((await connect({ ...bearer(host), 'Sec-Fetch-Site': 'cross-site' })).outcome).toBe('HTTP 401');
    const own = await connect({ Cookie: cookie, Origin: `http://127.0.0.1:${host.port}` });
    expect(own.outcome).toBe('open');
    own.ws.close();
  });

  it('closes a socket that sends a frame over the limit, and goes on', async () => {
    const { outcome, ws } = await connect(bearer(host));
    expect(outcome).toBe('open');
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('error', () => {});
    ws.send('x'.repeat(100_000));
    expect(await closed).toBe(1009);
    await stillServes();
  });
});

describe('files that are not files', () => {
  it('answers a pipe, a folder and a device at once instead of blocking or failing', async () => {
    await api('openDataset', JSON.stringify(tiny.rfw));
    const fifo = path.join(tiny.rfw, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    symlinkSync('/dev/zero', path.join(tiny.rfw, 'zero.jpg'));
    const answers = await Promise.all(
      [fifo, path.join(tiny.rfw, 'test'), path.join(tiny.rfw, 'zero.jpg')].map((f) =>
        request(host, `/files${f}`, { headers: bearer(host) }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([400, 400, 403]);
    expect(JSON.parse(answers[0]!.body).error.message).toMatch(/is a pipe/);
    expect(JSON.parse(answers[1]!.body).error.message).toMatch(/is a folder/);
    rmSync(fifo);
    rmSync(path.join(tiny.rfw, 'zero.jpg'));
    await stillServes();
  });
});

describe('images swapped after their dataset was opened', () => {
  it('refuses an image that has become a link out of its dataset, in /media and readImage', async () => {
    const copy = path.join(base, 'copy');
    cpSync(tiny.rfw, copy, { recursive: true });
    const dataset = JSON.parse((await api('openDataset', JSON.stringify(copy))).body).result as {
      id: string;
    };
    const page = JSON.parse(
      (await api('listImages', JSON.stringify({ datasetId: dataset.id, limit: 1 }))).body,
    ).result as { images: { id: number; relative: string }[] };
    const image = path.join(copy, page.images[0]!.relative);
    rmSync(image);
    symlinkSync(secret, image);
    const media = await request(host, `/media/image/${dataset.id}/${page.images[0]!.id}`, {
      headers: bearer(host),
    });
    expect(media.status).toBe(403);
    expect(media.body).not.toContain('not for the browser');
    const call = await api(
      'readImage',
      JSON.stringify({ datasetId: dataset.id, imageId: page.images[0]!.id }),
    );
    expect(call.status).toBe(403);
    expect(call.body).not.toContain('not for the browser');
  });
});
