/**
 * The app end to end, in a real browser: `gabn serve` on a small workspace (synthetic faces and a tiny
 * iResNet checkpoint), driven by playwright-core through Debian's Chromium. Opens the checkpoint,
 * browses group-b, opens an image, turns the attention map and the erasure masks on and off and
 * checks that the canvas pixels change, computes the group averages, and saves screenshots to
 * .test-output/e2e/. The same scenario runs in Electron where an Electron binary exists.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium, _electron as electron, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findElectronBinary, HEADLESS_CHROMIUM_ARGS } from '../../main/base/host-programs.ts';
import { ensureRendererBuilt } from '../../main/cli/renderer-build.ts';
import { ensureShellBuilt, SHELL_DIST } from '../../main/cli/shell-build.ts';
import { SHIPPED_DEMO_CHECKPOINTS } from '../../main/usecases/workspace/demo-workspace.ts';
import { makeTinyWorkspace, type TinyWorkspace } from '../unit/api/tiny-workspace.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve('.test-output/e2e');
const require = createRequire(import.meta.url);
const chromiumMissing = (() => {
  try {
    require('node:fs').accessSync(CHROMIUM);
    return undefined;
  } catch {
    return `${CHROMIUM} is absent (install Debian's chromium package)`;
  }
})();
const electronBinary = findElectronBinary(require);

/**
 * The checkpoints the demo workspace gets: the ones shipped in resources/demo (the first is selected
 * and shown), or the imported face-api network when none are shipped.
 */
const demo = (() => {
  const shipped = existsSync(SHIPPED_DEMO_CHECKPOINTS)
    ? readdirSync(SHIPPED_DEMO_CHECKPOINTS)
        .filter((name) => name.endsWith('.gabn'))
        .sort()
    : [];
  if (shipped.length === 0) return { names: ['face-api.gabn'], parameters: 5_614_592 };
  const first = path.join(SHIPPED_DEMO_CHECKPOINTS, shipped[0]!, 'checkpoint.json');
  return { names: shipped, parameters: JSON.parse(readFileSync(first, 'utf8')).parameterCount as number };
})();

let tiny: TinyWorkspace;

beforeAll(async () => {
  if (chromiumMissing && !electronBinary.available) return;
  mkdirSync(SHOTS, { recursive: true });
  await ensureRendererBuilt();
  tiny = await makeTinyWorkspace(mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-')));
});

/** Pixels of the overlay canvas that differ from the last snapshot (then takes a new snapshot). */
async function changedPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="gam-overlay"]')!;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const w = window as unknown as { snapshot?: Uint8ClampedArray };
    let changed = 0;
    if (w.snapshot) {
      for (let i = 0; i < data.length; i += 4) {
        if (
          data[i] !== w.snapshot[i] ||
          data[i + 1] !== w.snapshot[i + 1] ||
          data[i + 2] !== w.snapshot[i + 2]
        )
          changed++;
      }
    } else {
      changed = -1;
    }
    w.snapshot = new Uint8ClampedArray(data);
    return changed;
  });
}

/** Picks a group and waits until the grid shows its images (not those of the group shown before). */
async function showGroup(page: Page, group: string): Promise<void> {
  await page.click(`[data-testid="group-${group}"]`);
  await page.waitForFunction((name) => {
    const titles = Array.from(document.querySelectorAll('.thumb'), (e) => e.getAttribute('title') ?? '');
    return titles.length > 0 && titles.every((t) => t.includes(`${name}/`));
  }, group);
}

/** Waits for the overlay to be drawn again after an action. */
async function redrawn(page: Page, action: () => Promise<void>): Promise<void> {
  const before = Number(await page.getAttribute('[data-testid="gam-overlay"]', 'data-draws'));
  await action();
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="gam-overlay"]')?.getAttribute('data-draws')) > n,
    before,
  );
}

/** The whole scenario, the same in both hosts. */
async function scenario(page: Page, prefix: string, host: 'browser' | 'electron'): Promise<void> {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));

  // The service process starts and loads the compute backend before the first status arrives.
  await expect
    .poll(() => page.textContent('[data-testid="status-bar"]'), { timeout: 60_000 })
    .toContain('backend');
  expect(await page.textContent('[data-testid="status-bar"]')).toContain(`${host} host`);

  // Checkpoints: open the tiny network by path and inspect it.
  await page.fill('[data-testid="checkpoint-path"]', tiny.checkpoint);
  await page.press('[data-testid="checkpoint-path"]', 'Enter');
  await page.waitForSelector('[data-testid="checkpoint-detail"]');
  const detail = await page.textContent('[data-testid="checkpoint-detail"]');
  expect(detail).toContain('iresnet18-w0.125-32-e16');
  expect(detail).toContain('180,720');
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-checkpoints.png`) });

  // Browse group-b of the workspace's synthetic test set.
  await page.click('[data-testid="nav-browse"]');
  await showGroup(page, 'group-b');
  const shown = await page.$$eval('.thumb', (els) => els.map((e) => e.getAttribute('title') ?? ''));
  expect(shown.length).toBe(40);
  expect(shown.every((t) => t.includes('group-b/'))).toBe(true);

  // An image: its GAM overlay, drawn once the face and the map are in.
  await page.click('.thumb >> nth=3');
  await page.waitForSelector('[data-testid="map-stats"] >> text=half the attention');
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="gam-overlay"]')?.getAttribute('data-draws')) >= 1,
  );
  // Let the last draw (face and map together) settle.
  await page.waitForTimeout(300);
  expect(await changedPixels(page)).toBe(-1);
  await redrawn(page, () => page.click('[data-testid="toggle-gam"]'));
  const gamPixels = await changedPixels(page);
  expect(gamPixels).toBeGreaterThan(500);
  await page.click('[data-testid="toggle-masks"]');
  await page.waitForSelector('[data-testid="gam-overlay"]:not([data-masks="0"])');
  const maskPixels = await changedPixels(page);
  expect(maskPixels).toBeGreaterThan(200);
  await redrawn(page, () => page.click('[data-testid="reseed"]'));
  expect(await changedPixels(page)).toBeGreaterThan(0);
  await redrawn(page, () => page.click('[data-testid="toggle-gam"]'));
  expect(await changedPixels(page)).toBeGreaterThan(500);
  // Grad-CAM instead: the map is replaced (it may be zero everywhere for this untrained network).
  await redrawn(page, () => page.click('[data-testid="toggle-grad-cam"]'));
  await page.waitForSelector('[data-testid="map-stats"]');
  await page.waitForTimeout(300);
  expect(await changedPixels(page)).toBeGreaterThan(0);
  await redrawn(page, () => page.click('[data-testid="toggle-grad-cam"]'));

  // Its pairs, scored by the checkpoint with the 10-fold protocol's verdicts.
  await page.waitForSelector('[data-testid="pairs"] tbody tr');
  const pairs = await page.textContent('[data-testid="pairs"]');
  expect(pairs).toMatch(/genuine|impostor/);
  expect(pairs).toMatch(/[✓✗]/);
  expect(pairs).toContain("The group's 10-fold accuracy");
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-browse.png`) });

  // The group averages: a job in a worker process, then the faces and maps side by side.
  await page.click('[data-testid="tab-averages"]');
  await page.fill('[data-testid="group-averages"] input', '6');
  await page.click('[data-testid="group-averages"] button');
  await page.waitForSelector('[data-testid="group-averages"] figure', { timeout: 90_000 });
  const cards = await page.$$eval('[data-testid="group-averages"] figure', (els) =>
    els.map((e) => e.textContent ?? ''),
  );
  expect(cards).toHaveLength(4);
  expect(cards[1]).toContain('group-b');
  expect(cards[1]).toContain('mass fraction');
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="group-averages"] img')).every(
      (i) => i.complete && i.naturalWidth > 0,
    ),
  );
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-group-averages.png`), fullPage: true });

  expect(problems).toEqual([]);
}

/** Starts `gabn <args>` and resolves with the URL it announces (and everything it printed). */
function startHost(
  args: string[],
  env: NodeJS.ProcessEnv,
): { process: ChildProcess; announced: Promise<{ url: string; output: string }> } {
  const child = spawn(process.execPath, ['bin/gabn.js', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const announced = new Promise<{ url: string; output: string }>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const found = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(text);
      if (found) resolve({ url: found[1]!, output: text });
    });
    child.on('exit', (code) => reject(new Error(`gabn ${args[0]} exited with ${code}: ${text}`)));
  });
  return { process: child, announced };
}

describe('end to end in the browser host', () => {
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
  });

  it('opens a checkpoint, browses group-b and overlays the GAM and the masks', async (context) => {
    if (chromiumMissing) {
      console.log(`browser end-to-end test skipped: ${chromiumMissing}`);
      context.skip();
    }
    const cache = mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-cache-'));
    const host = startHost(['serve', '--workspace', tiny.workspace], {
      ...process.env,
      GABN_CACHE_DIR: cache,
    });
    server = host.process;
    const { url } = await host.announced;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: HEADLESS_CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    // The token went into a cookie and out of the address bar.
    expect(page.url()).toBe(url.replace(/\?token=.*/, ''));
    try {
      await scenario(page, 'browser', 'browser');
    } catch (error) {
      await page.screenshot({ path: path.join(SHOTS, 'browser-failure.png') });
      throw error;
    }
  });
});

describe('npm start on a machine without Electron', () => {
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
  });

  it('explains why, serves the app, prepares the demo workspace with progress and browses it', async (context) => {
    if (chromiumMissing) {
      console.log(`demo workspace end-to-end test skipped: ${chromiumMissing}`);
      context.skip();
    }
    const workspace = mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-demo-'));
    // No display, as on a headless server: the desktop app cannot open whatever Electron's state.
    const { DISPLAY: _display, WAYLAND_DISPLAY: _wayland, ...env } = process.env;
    const host = startHost(['start', '--workspace', workspace, '--port', '0'], {
      ...env,
      GABN_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-cache-')),
    });
    server = host.process;
    const { url, output } = await host.announced;
    expect(output).toContain('the desktop app cannot open here: there is no display');
    expect(output).toContain('Opening the browser host instead');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: HEADLESS_CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(url);
    try {
      // First start: the demo is prepared in a job whose progress the window shows.
      await page.waitForSelector('[data-testid="demo-workspace"] >> text=Preparing the demo workspace');
      await page.waitForSelector('[data-testid="demo-workspace"] progress');
      await page.screenshot({ path: path.join(SHOTS, 'demo-preparing.png') });
      for (const name of demo.names) {
        await page.waitForSelector(`[data-testid="checkpoint-item"] >> text=${name}`, { timeout: 180_000 });
      }
      await page.waitForSelector('[data-testid="demo-workspace"]', { state: 'detached' });
      expect(await page.textContent('[data-testid="checkpoint-detail"]')).toContain(
        demo.parameters.toLocaleString('en'),
      );
      await page.screenshot({ path: path.join(SHOTS, 'demo-checkpoints.png') });

      await page.click('[data-testid="nav-browse"]');
      await showGroup(page, 'group-b');
      expect(await page.textContent('[data-testid="group-group-b"]')).toContain('180');
      await page.click('.thumb >> nth=5');
      await page.waitForSelector('[data-testid="map-stats"] >> text=half the attention', {
        timeout: 120_000,
      });
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid="gam-overlay"]')?.getAttribute('data-draws')) >= 1,
      );
      await page.waitForTimeout(300);
      expect(await changedPixels(page)).toBe(-1);
      // The map (a GAM, or face-api's pair GAM: it has no identity head) off, then the masks on: the
      // canvas changes each time.
      await redrawn(page, () => page.click('[data-testid="toggle-gam"]'));
      expect(await changedPixels(page)).toBeGreaterThan(500);
      await page.click('[data-testid="toggle-masks"]');
      // The masks come from the map once computed: wait for a drawing that holds them.
      await page.waitForSelector('[data-testid="gam-overlay"]:not([data-masks="0"])');
      expect(await changedPixels(page)).toBeGreaterThan(200);
      await page.waitForSelector('[data-testid="pairs"] tbody tr', { timeout: 240_000 });
      await page.click('[data-testid="toggle-gam"]');
      await page.waitForSelector('[data-testid="gam-overlay"][data-map="true"]:not([data-masks="0"])');
      await page.screenshot({ path: path.join(SHOTS, 'demo-browse.png') });
      expect(problems).toEqual([]);
    } catch (error) {
      await page.screenshot({ path: path.join(SHOTS, 'demo-failure.png') });
      throw error;
    }
  });
});

describe('end to end in the Electron host', () => {
  it('runs the same scenario in the desktop app', async (context) => {
    if (!electronBinary.available) {
      console.log(`Electron end-to-end test skipped: ${electronBinary.reason}`);
      context.skip();
      return;
    }
    await ensureShellBuilt();
    const app = await electron.launch({
      executablePath: electronBinary.path,
      args: [path.join(SHELL_DIST, 'main.mjs'), '--workspace', tiny.workspace],
      env: {
        ...process.env,
        GABN_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-cache-')),
      } as Record<string, string>,
    });
    try {
      const page = await app.firstWindow();
      await page.setViewportSize({ width: 1400, height: 900 });
      await scenario(page, 'electron', 'electron');
    } finally {
      await app.close();
    }
  });
});
