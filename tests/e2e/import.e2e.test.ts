/**
 * Bring your own model in the app: `gabn serve` on a tiny workspace, driven by playwright-core through
 * Debian's Chromium. The Checkpoints view is given an insightface ONNX file (a PyTorch-made iResNet-50
 * layout, tests/golden/fixtures/imports): it is imported into the workspace by a job whose progress
 * shows, the checkpoint opens, and Browse computes its pair GAM. A truncated file is refused with a
 * message. Screenshots go to .test-output/e2e/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADLESS_CHROMIUM_ARGS } from '../../main/base/host-programs.ts';
import { ensureRendererBuilt } from '../../main/cli/renderer-build.ts';
import { makeTinyWorkspace, type TinyWorkspace } from '../unit/api/tiny-workspace.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve('.test-output/e2e');
const ONNX = path.resolve('tests/golden/fixtures/imports/iresnet50-w0.0625.onnx');
const chromiumMissing = (() => {
  try {
    accessSync(CHROMIUM);
    return undefined;
  } catch {
    return `${CHROMIUM} is absent (install Debian's chromium package)`;
  }
})();

let tiny: TinyWorkspace;
let server: ChildProcess | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (chromiumMissing) return;
  mkdirSync(SHOTS, { recursive: true });
  await ensureRendererBuilt();
  tiny = await makeTinyWorkspace(mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-import-')));
});

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

describe('opening a model file in the Checkpoints view', () => {
  it('imports an ONNX iResNet with progress, opens it and browses with its pair GAM', async (context) => {
    if (chromiumMissing) {
      console.log(`import end-to-end test skipped: ${chromiumMissing}`);
      context.skip();
    }
    const downloads = path.join(tiny.workspace, 'downloads');
    mkdirSync(downloads, { recursive: true });
    const model = path.join(downloads, 'w600k_r50.onnx');
    copyFileSync(ONNX, model);
    const broken = path.join(downloads, 'broken.onnx');
    writeFileSync(broken, readFileSync(ONNX).subarray(0, 40_000));
    const child = spawn(process.execPath, ['bin/gabn.js', 'serve', '--workspace', tiny.workspace], {
      env: { ...process.env, GABN_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-cache-')) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    server = child;
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        const found = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(text);
        if (found) resolve(found[1]!);
      });
      child.on('exit', (code) => reject(new Error(`gabn serve exited with ${code}: ${text}`)));
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: HEADLESS_CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    try {
      await expect
        .poll(() => page.textContent('[data-testid="status-bar"]'), { timeout: 60_000 })
        .toContain('backend');

      // A damaged file: refused, with what is wrong.
      await page.fill('[data-testid="checkpoint-path"]', broken);
      await page.press('[data-testid="checkpoint-path"]', 'Enter');
      await page.waitForSelector('[data-testid="checkpoint-error"]', { timeout: 60_000 });
      expect(await page.textContent('[data-testid="checkpoint-error"]')).toMatch(
        /failed.*ONNX|ONNX.*truncated|values for shape/,
      );
      await page.screenshot({ path: path.join(SHOTS, 'import-refused.png') });

      // The real file: a job with progress, then the checkpoint.
      await page.fill('[data-testid="checkpoint-path"]', model);
      await page.press('[data-testid="checkpoint-path"]', 'Enter');
      await page.waitForSelector('[data-testid="import-progress"]');
      await page.waitForSelector('[data-testid="checkpoint-detail"] >> text=w600k_r50.gabn', {
        timeout: 120_000,
      });
      const detail = await page.textContent('[data-testid="checkpoint-detail"]');
      expect(detail).toContain('iresnet50-w0.0625-e16');
      expect(detail).toContain('147,852');
      expect(detail).toContain('none (pair GAM)');
      expect(detail).toContain('pair-gam');
      await page.screenshot({ path: path.join(SHOTS, 'import-checkpoint.png') });

      // Browse uses it: the pair GAM of an image (the network takes 112 px faces).
      await page.click('[data-testid="nav-browse"]');
      await page.click('[data-testid="group-group-a"]');
      await page.waitForSelector('.thumb');
      await page.click('.thumb >> nth=2');
      await page.waitForSelector('[data-testid="map-stats"] >> text=half the attention', {
        timeout: 120_000,
      });
      await page.screenshot({ path: path.join(SHOTS, 'import-browse.png') });
    } catch (error) {
      await page.screenshot({ path: path.join(SHOTS, 'import-failure.png') });
      throw error;
    }
  });
});
