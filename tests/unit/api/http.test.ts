import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type BrowserHost, startBrowserHost } from '../../../main/api/http.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { makeTinyWorkspace, type TinyWorkspace } from './tiny-workspace.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

let tiny: TinyWorkspace;
let service: GabnService;
let host: BrowserHost;
let dist: string;
let outside: string;

/** A request with the path exactly as given: no `..` folding, unlike fetch. */
function send(
  rawPath: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; auth?: boolean } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { Host: `127.0.0.1:${host.port}`, ...options.headers };
  if (options.auth !== false && headers.Authorization === undefined && headers.Cookie === undefined) {
    headers.Authorization = `Bearer ${host.token}`;
  }
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: host.port, path: rawPath, method: options.method ?? 'GET', headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

function api(method: string, argument: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return send(`/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: argument === undefined ? '' : JSON.stringify(argument),
  });
}

function json(answer: Answer): { result?: unknown; error?: { kind: string; message: string } } {
  return JSON.parse(answer.body.toString('utf8'));
}

beforeAll(async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'gabn-http-'));
  tiny = await makeTinyWorkspace(path.join(base, 'workspace'));
  dist = path.join(base, 'dist');
  mkdirSync(path.join(dist, 'assets'), { recursive: true });
  writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>GABN Studio</title>');
  writeFileSync(path.join(dist, 'assets', 'app.js'), 'console.log(1)');
  outside = path.join(base, 'secret.txt');
  writeFileSync(outside, 'not for the browser');
  // A link inside the dataset that points outside it.
  symlinkSync(outside, path.join(tiny.rfw, 'escape.jpg'));
  service = createService({ workspace: tiny.workspace, host: 'browser', embeddingCacheDir: null });
  host = await startBrowserHost(service, { rendererDist: dist });
});

afterAll(async () => {
  await host?.close();
  await service?.close();
});

describe('browser host: token and loopback', () => {
  it('listens on 127.0.0.1 only and announces a URL with a fresh random token', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${host.token}`);
    expect(host.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('answers 401 without the token, or with a wrong one, on every route', async () => {
    for (const p of ['/', '/index.html', '/assets/app.js', '/media/image/x/0', `/files${tiny.rfw}`]) {
      expect((await send(p, { auth: false })).status, p).toBe(401);
    }
    expect((await api('getStatus', undefined, { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await send('/api/getStatus', { method: 'POST', auth: false })).status).toBe(401);
    // One character off; the replacement must differ from the token's own last character.
    const last = host.token.slice(-1);
    const wrongToken = host.token.slice(0, -1) + (last === 'x' ? 'y' : 'x');
    expect((await send(`/?token=${wrongToken}`, { auth: false })).status).toBe(401);
  });

  it('turns the URL token into an HttpOnly SameSite=Strict cookie on the first page load', async () => {
    const first = await send(`/?token=${host.token}`, { auth: false });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toContain(`gabn_token_${host.port}=${host.token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const page = await send('/', {
      headers: { Cookie: `gabn_token_${host.port}=${host.token}`, 'Sec-Fetch-Site': 'same-origin' },
    });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body.toString()).toContain('GABN Studio');
  });

  it('refuses another Host (DNS rebinding) and another Origin (cross-site requests)', async () => {
    expect((await send('/', { headers: { Host: 'evil.example:80' } })).status).toBe(403);
    expect((await api('getStatus', undefined, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await api('getStatus', undefined, { Origin: `http://127.0.0.1:${host.port}` })).status).toBe(200);
  });

  it('accepts a WebSocket only with the token', async () => {
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}/events`);
      ws.on('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
      ws.on('open', () => resolve('open'));
      ws.on('error', () => resolve('error'));
    });
    expect(refused).toBe('HTTP 401');
    const accepted = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}/events`, {
        headers: { Authorization: `Bearer ${host.token}` },
      });
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('error', (e) => resolve(`error ${e.message}`));
    });
    expect(accepted).toBe('open');
  });
});

describe('browser host: API', () => {
  it('calls the service and returns validation errors as 400 with the message', async () => {
    const status = json(await api('getStatus', undefined));
    expect((status.result as { host: string }).host).toBe('browser');
    const bad = await api('listImages', { datasetId: 'd', limit: -1 });
    expect(bad.status).toBe(400);
    expect(json(bad).error?.message).toBe('listImages: limit is -1 (expected an integer in [1, 100000])');
    expect((await api('noSuchMethod', {})).status).toBe(404);
    expect((await send('/api/getStatus', { method: 'GET' })).status).toBe(405);
    const notJson = await send('/api/openDataset', { method: 'POST', body: '{oops' });
    expect(notJson.status).toBe(400);
  });

  it('serves images with an ETag and answers 304 when the browser has them', async () => {
    const dataset = json(await api('openDataset', tiny.rfw)).result as { id: string };
    const first = await send(`/media/image/${dataset.id}/0`);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('image/jpeg');
    expect(first.headers['cache-control']).toContain('max-age');
    const etag = String(first.headers.etag);
    expect((await send(`/media/image/${dataset.id}/0`, { headers: { 'If-None-Match': etag } })).status).toBe(
      304,
    );
    const aligned = await send(`/media/image/${dataset.id}/0?aligned=32`);
    expect(aligned.headers['content-type']).toBe('image/png');
  });

  it('renders a GAM overlay as PNG and serves it again from memory', async () => {
    const dataset = json(await api('openDataset', tiny.rfw)).result as { id: string };
    const checkpoint = json(await api('openCheckpoint', tiny.checkpoint)).result as { id: string };
    const url = `/media/gam/${checkpoint.id}/${dataset.id}/3.png?method=gam&colormap=viridis&opacity=0.8`;
    const first = await send(url);
    expect(first.status).toBe(200);
    expect(first.body.subarray(1, 4).toString()).toBe('PNG');
    const second = await send(url);
    expect(second.body.equals(first.body)).toBe(true);
    expect((await send(url, { headers: { 'If-None-Match': String(first.headers.etag) } })).status).toBe(304);
    expect((await send(url.replace('opacity=0.8', 'opacity=3'))).status).toBe(400);
  });
});

describe('browser host: path containment', () => {
  it('serves a file inside an opened dataset', async () => {
    await api('openDataset', tiny.rfw);
    const inside = await send(`/files${tiny.rfw}/test/txts/group-a/group-a_people.txt`);
    expect(inside.status).toBe(200);
  });

  it('answers 403 to .., percent-encoded .., encoded slashes, absolute paths and links out', async () => {
    await api('openDataset', tiny.rfw);
    const secret = path.basename(outside);
    const attempts = [
      `/files${tiny.rfw}/../../${secret}`,
      `/files${tiny.rfw}/%2e%2e/%2e%2e/${secret}`,
      `/files${tiny.rfw}/%2E%2E%2F%2E%2E%2F${secret}`,
      `/files${tiny.rfw}%2f..%2f..%2f${secret}`,
      `/files${outside}`,
      '/files/etc/passwd',
      `/files/${encodeURIComponent(outside)}`,
      `/files${tiny.rfw}/escape.jpg`,
      '/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    ];
    for (const attempt of attempts) {
      const answer = await send(attempt);
      expect(answer.status, attempt).toBe(403);
      expect(answer.body.toString()).not.toContain('not for the browser');
    }
  });

  it('keeps run files inside their run directory and static files inside the renderer', async () => {
    const job = json(await api('startJob', { kind: 'synth', params: { out: 'more', ids: 19 } }));
    expect(job.error?.message).toContain('ids is 19');
    const started = json(
      await api('startJob', {
        kind: 'synth',
        params: {
          out: path.join(path.dirname(outside), 'synth-out'),
          ids: 20,
          images: 2,
          trainIds: 0,
          size: 32,
        },
      }),
    ).result as { id: string };
    await service.runner.wait(started.id);
    expect((await send(`/media/run/${started.id}/config.json`)).status).toBe(200);
    for (const attempt of [
      `/media/run/${started.id}/../../../${path.basename(outside)}`,
      `/media/run/${started.id}/%2e%2e%2f%2e%2e%2f%2e%2e%2f${path.basename(outside)}`,
      `/media/run/${started.id}/${encodeURIComponent(outside)}`,
    ]) {
      expect((await send(attempt)).status, attempt).toBe(403);
    }
    expect((await send('/assets/app.js')).status).toBe(200);
    expect((await send('/assets/../../secret.txt')).status).toBe(403);
    expect((await send('/%2e%2e/secret.txt')).status).toBe(403);
  });
});
