/**
 * Training from the app, end to end in a real browser: `gabn serve` on a small workspace (synthetic
 * faces, a tiny baseline checkpoint), driven by playwright-core through Debian's Chromium. A wrong
 * setting is refused beside its field; the time per epoch is estimated; a GABN fine-tune of the
 * baseline is launched, its charts gain points, it is stopped ("stopped"), resumed and completes with
 * its attention strip; a second run waits in the queue; the Runs view compares them, opens the
 * checkpoint in Audit, exports it and deletes a run after a confirmation. Screenshots go to
 * .test-output/e2e/. The same scenario runs in Electron where an Electron binary exists.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium, _electron as electron, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findElectronBinary, HEADLESS_CHROMIUM_ARGS } from '../../main/base/host-programs.ts';
import { ensureRendererBuilt } from '../../main/cli/renderer-build.ts';
import { writeTinyCheckpoint } from '../helpers/tiny-checkpoint.ts';
import { makeTinyTrainingSet } from '../unit/train/tiny-training-set.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve('.test-output/e2e');
const require = createRequire(import.meta.url);
const chromiumMissing = (() => {
  try {
    accessSync(CHROMIUM);
    return undefined;
  } catch {
    return `${CHROMIUM} is absent (install Debian's chromium package)`;
  }
})();
const electronBinary = findElectronBinary(require);
const LONG = { timeout: 180_000 };

/** A workspace as the demo lays it out, small: synthetic/train, synthetic/rfw and a baseline checkpoint. */
async function trainingWorkspace(): Promise<string> {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-train-'));
  await makeTinyTrainingSet(workspace);
  const checkpoints = path.join(workspace, 'checkpoints');
  mkdirSync(checkpoints, { recursive: true });
  await writeTinyCheckpoint(checkpoints, ['group-a', 'group-b', 'group-c', 'group-d']);
  return workspace;
}

let workspaces: string[] = [];

beforeAll(async () => {
  if (chromiumMissing && !electronBinary.available) return;
  mkdirSync(SHOTS, { recursive: true });
  await ensureRendererBuilt();
  workspaces = [await trainingWorkspace(), await trainingWorkspace()];
});

async function setting(page: Page, key: string, value: string): Promise<void> {
  await page.fill(`[data-testid="setting-${key}"]`, value);
}

/** Points of a chart of the watched run (its raw points, before decimation). */
function points(page: Page, title: string): Promise<number> {
  return page.evaluate(
    (t) =>
      Number(
        document
          .querySelector(`[data-testid="metric-chart"][data-title^="${t}"]`)
          ?.getAttribute('data-points') ?? -1,
      ),
    title,
  );
}

async function scenario(page: Page, prefix: string): Promise<void> {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await expect
    .poll(() => page.textContent('[data-testid="status-bar"]'), { timeout: 60_000 })
    .toContain('backend');

  // Train: the form opens on a GABN fine-tune of the workspace's baseline, with its data.
  await page.click('[data-testid="nav-train"]');
  await page.waitForSelector('[data-testid="setting-batchSize"]');
  expect(await page.inputValue('[data-testid="field-preset"]')).toBe('fine-tune');
  expect(await page.inputValue('[data-testid="field-from"]')).toMatch(/checkpoints\/tiny\.gabn$/);
  await page.selectOption('[data-testid="field-config"]', 'tiny');
  await setting(page, 'batchSize', '8');
  await setting(page, 'epochs', '2');
  // A wrong value: its problem beside its field, and nothing can start.
  await setting(page, 'optimizer.learningRate', 'fast');
  const problem = await page.waitForSelector('[data-testid="problem-optimizer.learningRate"]');
  expect(await problem.textContent()).toBe("optimizer.learningRate is 'fast' (expected a number in (0, 10])");
  expect(await page.isDisabled('[data-testid="launch"]')).toBe(true);
  await page.$eval('[data-testid="setting-optimizer.learningRate"]', (e) =>
    e.scrollIntoView({ block: 'center' }),
  );
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-train-form-error.png`) });
  await setting(page, 'optimizer.learningRate', '0.01');
  await page.waitForSelector('[data-testid="problem-optimizer.learningRate"]', { state: 'detached' });

  // The time per epoch, from a few probe steps in a job of its own.
  await page.click('[data-testid="estimate"]');
  await page.waitForSelector('[data-testid="estimate-result"] >> text=per epoch', LONG);
  expect(await page.textContent('[data-testid="estimate-result"]')).toMatch(/s per step × 2 steps/);
  await page.$eval('[data-testid="estimate-result"]', (e) => e.scrollIntoView({ block: 'center' }));
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-train-estimate.png`) });

  // Launch: the charts gain points as the job reports.
  await page.click('[data-testid="launch"]');
  await page.waitForSelector('[data-testid="run-monitor"][data-state="running"]', LONG);
  const run = (await page.getAttribute('[data-testid="run-monitor"]', 'data-run'))!;
  await page.waitForFunction(
    () =>
      Number(
        document
          .querySelector('[data-testid="metric-chart"][data-title^="L_ID"]')
          ?.getAttribute('data-points'),
      ) >= 2,
    null,
    LONG,
  );
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-train-live.png`) });

  // Stop: after the current step, with a resume point.
  await page.click('[data-testid="run-stop"]');
  await page.waitForSelector('[data-testid="run-monitor"][data-state="stopped"]', LONG);
  expect(await page.textContent('[data-testid="run-state"]')).toContain('stopped');
  const atStop = await points(page, 'L_ID');
  expect(atStop).toBeGreaterThanOrEqual(2);
  expect(atStop).toBeLessThan(4);
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-train-stopped.png`) });

  // Resume, and queue a second run (GAM-CT alone) behind it.
  await page.click('[data-testid="run-resume"]');
  await page.waitForSelector('[data-testid="run-monitor"][data-state="running"]', LONG);
  await page.selectOption('[data-testid="field-preset"]', 'gam-ct');
  await setting(page, 'batchSize', '8');
  await setting(page, 'epochs', '1');
  // Without validation: a short run beside the first.
  await page.fill('[data-testid="field-val"]', '');
  await page.waitForFunction(
    () => !document.querySelector('[data-testid="launch"]')?.hasAttribute('disabled'),
  );
  await page.click('[data-testid="launch"]');
  await page.waitForSelector('[data-testid="queue-item"] >> text=queued #1');
  await page.click(`[data-testid="queue-item"] >> text=${run}`);
  await page.waitForSelector(`[data-testid="run-monitor"][data-run="${run}"][data-state="succeeded"]`, LONG);
  expect(await points(page, 'L_ID')).toBe(4);
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="strip-epoch"]').length === 3,
    null,
    LONG,
  );
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="attention-strip"] img')).every(
      (i) => i.complete && i.naturalWidth > 0,
    ),
  );
  expect(await page.textContent('[data-testid="run-log"]')).toContain('completed 2 epochs (4 steps)');
  // The mechanism figures of both epochs: the discriminator's accuracy and its chance line, and each
  // of the 4 groups' mass fraction and confidence.
  expect(await points(page, 'Discriminator accuracy on probe GAMs')).toBe(4);
  expect(await points(page, 'Attention mass fraction per group')).toBe(8);
  expect(await points(page, 'Probe confidence P_max per group')).toBe(8);
  expect(await points(page, 'Distance between group GAMs')).toBe(2);
  // The whole live view at once: charts, the probe set's attention and the log.
  await page.setViewportSize({ width: 1400, height: 2700 });
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-train-complete.png`) });
  await page.setViewportSize({ width: 1400, height: 900 });
  await page
    .locator('[data-testid="attention-strip"]')
    .screenshot({ path: path.join(SHOTS, `${prefix}-attention-strip.png`) });

  // Runs: both listed; ticked, they are compared.
  await page.click('[data-testid="nav-runs"]');
  await page.waitForSelector(`[data-testid="run-row"][data-run="${run}"]`);
  const rows = page.locator('[data-testid="run-row"]');
  expect(await rows.count()).toBe(2);
  await page.waitForSelector('[data-testid="run-row"] >> text=gam-ct');
  const other = (await page.locator('[data-testid="run-row"]:has-text("gam-ct")').getAttribute('data-run'))!;
  await page.waitForSelector(
    `[data-testid="run-row"][data-run="${other}"] [data-testid="run-state"] >> text=succeeded`,
    LONG,
  );
  for (const id of [run, other])
    await page.check(`[data-testid="run-row"][data-run="${id}"] [data-testid="run-compare"]`);
  await page.waitForSelector('[data-testid="config-differences"]');
  const differences = await page.textContent('[data-testid="config-differences"]');
  expect(differences).toContain('modules.sfre');
  expect(differences).toContain('epochs');
  // A fine-tune trains its checkpoint's network, and records it: both runs' are the same.
  expect(differences).not.toContain('model.');
  expect(await page.textContent(`[data-testid="run-row"][data-run="${run}"]`)).toMatch(/\d+\.\d\d \(e\d\)/);
  await page.click(`[data-testid="run-row"][data-run="${run}"]`);
  await page.waitForSelector(`[data-testid="run-actions"][data-run="${run}"]`);

  // Export the final checkpoint (float16): it joins the workspace's checkpoints, and the runs are
  // compared with it (its provenance holds its configuration and the epoch's validation).
  expect(await page.inputValue('[data-testid="run-checkpoint"]')).toBe('checkpoints/epoch-2.gabn');
  await page.click('[data-testid="run-export"]');
  const exported = `${run}-epoch-2.gabn`;
  await page.waitForSelector(`[data-testid="runs-notice"] >> text=${exported}`, LONG);
  await page.waitForSelector(`[data-testid="compare-checkpoint"] option >> text=${exported}`, {
    state: 'attached',
  });
  await page.selectOption('[data-testid="compare-checkpoint"]', { label: exported });
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="compare-validation"] tbody tr').length === 3,
  );
  const figures = await page.$$eval('[data-testid="compare-validation"] tbody tr', (rows) =>
    rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent ?? '')),
  );
  // The exported checkpoint's validation is its run's last epoch's.
  expect(figures[2]!.slice(1)).toEqual(figures[0]!.slice(1));
  await page.setViewportSize({ width: 1400, height: 1600 });
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-runs-compare.png`) });
  await page.setViewportSize({ width: 1400, height: 900 });

  // Delete the second run, after a confirmation.
  await page.click(`[data-testid="run-row"][data-run="${other}"]`);
  await page.click('[data-testid="run-delete"]');
  expect(await page.textContent('[data-testid="delete-confirmation"]')).toContain(
    `Delete ${other} and its 1 checkpoint(s)?`,
  );
  await page.click('[data-testid="run-delete-confirm"]');
  await page.waitForSelector(`[data-testid="run-row"][data-run="${other}"]`, { state: 'detached' });

  // Open the run's checkpoint in Audit: it is opened and selected, and the Audit view is asked for.
  await page.click(`[data-testid="run-row"][data-run="${run}"]`);
  await page.click('[data-testid="open-in-audit"]');
  await page.waitForSelector('main[data-view="audit"]');
  expect(await page.getAttribute('[data-testid="nav-audit"]', 'class')).toContain('active');
  // The Audit form has the run's checkpoint chosen, and only it.
  await expect
    .poll(() =>
      page
        .locator(
          '[data-testid="audit-form"] input[type="checkbox"][data-testid^="audit-checkpoint-"]:checked',
        )
        .count(),
    )
    .toBe(1);
  expect(
    await page.isChecked('[data-testid="audit-form"] [data-testid="audit-checkpoint-epoch-2.gabn"] >> nth=0'),
  ).toBe(true);
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-open-in-audit.png`) });
  await page.click('[data-testid="nav-checkpoints"]');
  await page.waitForSelector('[data-testid="checkpoint-item"] >> text=epoch-2.gabn');
  await page.waitForSelector(`[data-testid="checkpoint-item"] >> text=${run}-epoch-2.gabn`);
  expect(problems).toEqual([]);
}

function startHost(args: string[]): { process: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, ['bin/gabn.js', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const found = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(text);
      if (found) resolve(found[1]!);
    });
    child.on('exit', (code) => reject(new Error(`gabn ${args[0]} exited with ${code}: ${text}`)));
  });
  return { process: child, url };
}

describe('training end to end in the browser host', () => {
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
  });

  it('launches, watches, stops, resumes and compares a GABN fine-tune, and opens its checkpoint in Audit', async (context) => {
    if (chromiumMissing) {
      console.log(`training end-to-end test skipped: ${chromiumMissing}`);
      context.skip();
    }
    const host = startHost(['serve', '--workspace', workspaces[0]!, '--port', '0']);
    server = host.process;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: HEADLESS_CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(await host.url);
    try {
      await scenario(page, 'browser');
    } catch (error) {
      await page.screenshot({ path: path.join(SHOTS, 'browser-train-failure.png') });
      throw error;
    }
  }, 600_000);
});

describe('training end to end in the Electron host', () => {
  it('runs the same scenario in the desktop app', async (context) => {
    if (!electronBinary.available) {
      console.log(`Electron training end-to-end test skipped: ${electronBinary.reason}`);
      context.skip();
      return;
    }
    const app = await electron.launch({
      executablePath: electronBinary.path,
      args: [path.resolve('electron/launch.mjs'), '--workspace', workspaces[1]!],
    });
    try {
      const page = await app.firstWindow();
      await page.setViewportSize({ width: 1400, height: 900 });
      await scenario(page, 'electron');
    } finally {
      await app.close();
    }
  }, 600_000);
});
