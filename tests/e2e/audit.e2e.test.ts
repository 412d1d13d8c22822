/**
 * The Audit and Reports views end to end, in a real browser: `gabn serve` on a small workspace (the
 * synthetic test set of the tiny workspace and the demo checkpoints), driven by playwright-core
 * through Debian's Chromium. Runs an audit of the demo baseline from the GUI and checks that the
 * per-group accuracies shown are those of `gabn audit`'s JSON for the same inputs; opens a worst
 * false match in Browse with its pair GAM; cancels an audit during its bootstrap; compares the
 * baseline with the GABN checkpoint; finds gabn audit's report among the workspace's reports; exports
 * a PDF without faces and reads it back with pdftotext. Screenshots go to .test-output/e2e/. The same
 * scenario runs in Electron where an Electron binary exists (the save dialog answered by the test).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium, _electron as electron, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findElectronBinary, HEADLESS_CHROMIUM_ARGS } from '../../main/base/host-programs.ts';
import { ensureRendererBuilt } from '../../main/cli/renderer-build.ts';
import type { AuditReport } from '../../main/report/report-model.ts';
import { SHIPPED_DEMO_CHECKPOINTS } from '../../main/usecases/workspace/demo-workspace.ts';
import { makeTinyWorkspace, type TinyWorkspace } from '../unit/api/tiny-workspace.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve('.test-output/e2e');
const BOOTSTRAP = 50;
const require = createRequire(import.meta.url);
const chromiumMissing = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is absent (install Debian's chromium package)`;
const electronBinary = findElectronBinary(require);
const demo = existsSync(SHIPPED_DEMO_CHECKPOINTS)
  ? readdirSync(SHIPPED_DEMO_CHECKPOINTS)
      .filter((n) => n.endsWith('.gabn'))
      .sort()
  : [];
const BASELINE = 'synthetic-baseline.gabn';
const GABN = 'synthetic-gabn.gabn';
const demoMissing = [BASELINE, GABN].every((n) => demo.includes(n))
  ? undefined
  : `the demo checkpoints ${BASELINE} and ${GABN} are not in ${SHIPPED_DEMO_CHECKPOINTS}`;

let tiny: TinyWorkspace;
let cache: string;
/** What `gabn audit` wrote for the baseline on the same pairs with the same bootstrap. */
let cli: AuditReport;

beforeAll(async () => {
  if ((chromiumMissing && !electronBinary.available) || demoMissing) return;
  mkdirSync(SHOTS, { recursive: true });
  await ensureRendererBuilt();
  tiny = await makeTinyWorkspace(mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-audit-')));
  for (const name of [BASELINE, GABN])
    cpSync(path.join(SHIPPED_DEMO_CHECKPOINTS, name), path.join(tiny.workspace, 'checkpoints', name), {
      recursive: true,
    });
  cache = mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-audit-cache-'));
  // gabn audit --out inside the workspace: its report must show up in the Reports view too.
  const out = path.join(tiny.workspace, 'reports', 'cli-baseline.json');
  mkdirSync(path.dirname(out), { recursive: true });
  const run = spawnSync(
    process.execPath,
    [
      'bin/gabn.js',
      'audit',
      '--checkpoint',
      path.join(tiny.workspace, 'checkpoints', BASELINE),
      '--data',
      tiny.rfw,
      '--bootstrap',
      String(BOOTSTRAP),
      '--seed',
      '1',
      '--attention-images',
      '0',
      '--out',
      out,
    ],
    { encoding: 'utf8', env: { ...process.env, GABN_CACHE_DIR: cache } },
  );
  if (run.status !== 0) throw new Error(`gabn audit failed: ${run.stderr}`);
  cli = JSON.parse(readFileSync(out, 'utf8')) as AuditReport;
});

/** The scrolling result panel taken whole: the viewport grows to its height for the screenshot. */
async function shotOf(page: Page, selector: string, file: string): Promise<void> {
  const size = page.viewportSize() ?? { width: 1400, height: 900 };
  const contentHeight = () =>
    page.evaluate((s) => {
      const el = document.querySelector(s);
      return el ? el.getBoundingClientRect().height : 900;
    }, selector);
  // The charts resize with the window: grow it until the content's height settles.
  let height = await contentHeight();
  for (let i = 0; i < 3; i++) {
    await page.setViewportSize({ width: size.width, height: Math.min(Math.round(height) + 140, 6000) });
    await page.waitForTimeout(500);
    const now = await contentHeight();
    if (Math.abs(now - height) < 2) break;
    height = now;
  }
  await page.screenshot({ path: path.join(SHOTS, file) });
  await page.setViewportSize(size);
}

async function runAudit(page: Page): Promise<void> {
  await page.click('[data-testid="audit-run"]');
  await page.waitForSelector('[data-testid="audit-progress"]');
  await page.waitForSelector('[data-testid="audit-result"]:not(:has([data-testid="preliminary"]))', {
    timeout: 180_000,
  });
  await page.waitForSelector('[data-testid="audit-progress"]', { state: 'detached' });
}

/** "97.50 [95.00, 100.00]", as the app prints an estimate (the model holds no infinite accuracy). */
function shown(e: AuditReport['groups'][number]['accuracy']): string {
  return `${e.value!.toFixed(2)} [${e.interval!.lower!.toFixed(2)}, ${e.interval!.upper!.toFixed(2)}]`;
}

/** The whole scenario, the same in both hosts; `exportPdf` clicks Export PDF and returns the file. */
async function scenario(page: Page, prefix: string, exportPdf: () => Promise<string>): Promise<void> {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await expect
    .poll(() => page.textContent('[data-testid="status-bar"]'), { timeout: 60_000 })
    .toContain('backend');
  await page.waitForSelector(`[data-testid="checkpoint-item"] >> text=${BASELINE}`);

  // 1. Audit the demo baseline: it is chosen already (the checkpoint in use, the workspace's test set).
  await page.click('[data-testid="nav-audit"]');
  await page.waitForSelector(`[data-testid="audit-checkpoint-${BASELINE}"]:checked`);
  expect(await page.isChecked(`[data-testid="audit-checkpoint-${GABN}"]`)).toBe(false);
  await page.fill('[data-testid="audit-bootstrap"]', String(BOOTSTRAP));
  await page.fill('[data-testid="audit-attention-images"]', '2');
  await runAudit(page);
  for (const g of cli.groups) {
    expect(await page.textContent(`[data-testid="group-accuracy-${g.name}"]`)).toBe(shown(g.accuracy));
  }
  expect(await page.textContent('[data-testid="figure-std"]')).toBe(
    `${cli.overall.std.value!.toFixed(2)} [${cli.overall.std.interval!.lower!.toFixed(2)}, ${cli.overall.std.interval!.upper!.toFixed(2)}]`,
  );
  for (const chart of ['accuracy-chart', 'roc-chart', 'det-chart']) {
    await page.waitForSelector(`[data-testid="${chart}"] canvas`);
  }
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="attention-figures"] img')).every(
      (i) => i.complete && i.naturalWidth > 0,
    ),
  );
  expect(await page.locator('[data-testid="attention-figures"] img').count()).toBe(8);
  await shotOf(page, '[data-testid="audit-result"]', `${prefix}-audit.png`);

  // 2. A worst false match opens in Browse: the image, its partner, the pair GAM against it.
  const worst = page.locator('[data-testid^="false-match-"]:not([disabled])').first();
  const title = (await worst.getAttribute('title'))!;
  const [imageA, imageB] = title.replace(/: open in Browse$/, '').split(' · ');
  await worst.click();
  await page.waitForSelector('[data-testid="pair-partner"]');
  expect(await page.textContent('[data-testid="image-detail"] .path')).toBe(imageA);
  expect(await page.textContent('[data-testid="pair-partner"]')).toContain(imageB);
  await page.waitForSelector('[data-testid="map-stats"]', { timeout: 60_000 });
  await page.waitForSelector('[data-testid="pairs"] tbody tr', { timeout: 60_000 });
  // The pair is listed among the image's pairs with the protocol's wrong verdict.
  const row = page.locator('[data-testid="pairs"] tbody tr', {
    has: page.locator(`button[title="${imageB}"]`),
  });
  await expect.poll(() => row.textContent(), { timeout: 60_000 }).toContain('✗');
  expect(await row.textContent()).toContain('impostor');
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-audit-pair-in-browse.png`) });

  // 3. Cancel an audit during its bootstrap: its point estimates showed, then no report.
  await page.click('[data-testid="nav-audit"]');
  await page.fill('[data-testid="audit-bootstrap"]', '1000000');
  await page.uncheck('[data-testid="audit-attention"]');
  await page.click('[data-testid="audit-run"]');
  await page.waitForSelector('[data-testid="preliminary"]', { timeout: 120_000 });
  await page.waitForSelector('[data-testid="audit-progress"] >> text=bootstrap');
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-audit-running.png`) });
  await page.click('[data-testid="audit-cancel"]');
  await page.waitForSelector('[data-testid="audit-cancelled"]', { timeout: 30_000 });
  expect(await page.locator('[data-testid="audit-result"]').count()).toBe(0);

  // 4. Compare the baseline (A) with the GABN checkpoint (B) on the same pairs.
  await page.fill('[data-testid="audit-bootstrap"]', String(BOOTSTRAP));
  await page.check('[data-testid="audit-attention"]');
  await page.check(`[data-testid="audit-checkpoint-${GABN}"]`);
  await runAudit(page);
  const table = await page.textContent('[data-testid="audit-table"]');
  expect(table).toContain(BASELINE);
  expect(table).toContain(GABN);
  const headline = await page.textContent('[data-testid="comparison-headline"]');
  expect(headline).toMatch(
    new RegExp(`(${GABN} is fairer than|No evidence that ${GABN} is fairer than) ${BASELINE}`),
  );
  const comparison = await page.textContent('[data-testid="comparison"]');
  for (const g of cli.groups) expect(comparison).toContain(`accuracy of ${g.name}`);
  // The baseline's figures are the same as in its own audit.
  for (const g of cli.groups) {
    expect(await page.textContent(`[data-testid="group-accuracy-${g.name}"]`)).toBe(shown(g.accuracy));
  }
  await shotOf(page, '[data-testid="audit-result"]', `${prefix}-audit-compare.png`);

  // 5. Reports: the two audits of the app and gabn audit's file; export the comparison as PDF.
  await page.click('[data-testid="nav-reports"]');
  await page.waitForSelector('[data-testid="report-item"] >> text=cli-baseline.json');
  const items = await page.$$eval('[data-testid="report-item"]', (els) =>
    els.map((e) => e.textContent ?? ''),
  );
  expect(items.filter((t) => t.includes('audit in the app'))).toHaveLength(2);
  expect(items.some((t) => t.includes('gabn audit'))).toBe(true);
  await page.click(`[data-testid="report-item"] >> text=Audit of ${BASELINE} vs ${GABN}`);
  const frame = page.frameLocator('[data-testid="report-frame"]');
  await expect
    .poll(() => frame.locator('body').textContent(), { timeout: 30_000 })
    .toContain(`Is ${GABN} fairer than ${BASELINE}?`);
  expect(await frame.locator('img[alt^="average face of"]').count()).toBe(4);
  await page.check('[data-testid="report-no-faces"]');
  await expect
    .poll(() => frame.locator('body').textContent())
    .toContain('Face images are left out of this report.');
  expect(await frame.locator('img[alt^="average face of"]').count()).toBe(0);
  await page.screenshot({ path: path.join(SHOTS, `${prefix}-reports.png`) });
  const pdf = await exportPdf();
  expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
  if (existsSync('/usr/bin/pdftotext')) {
    const text = execFileSync('/usr/bin/pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    expect(text).toContain('Face images are left out of this report.');
    expect(text).toContain('Average accuracy (%)');
    expect(text).toMatch(new RegExp(`Is ${GABN.replace('.', '\\.')} fairer than`));
    for (const g of cli.groups) expect(text).toContain(g.accuracy.value!.toFixed(2));
    expect(text).not.toContain('∞');
  } else {
    console.log('the exported PDF was not read back: pdftotext (poppler-utils) is not installed');
  }
  expect(problems).toEqual([]);
}

function startHost(args: string[], env: NodeJS.ProcessEnv): { process: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, ['bin/gabn.js', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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

describe('the Audit and Reports views in the browser host', () => {
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
  });

  it('audits the demo baseline, opens a worst pair, compares, and exports a PDF', {
    timeout: 360_000,
  }, async (context) => {
    const why = chromiumMissing ?? demoMissing;
    if (why) {
      console.log(`audit end-to-end test skipped: ${why}`);
      context.skip();
    }
    const host = startHost(['serve', '--workspace', tiny.workspace], {
      ...process.env,
      GABN_CACHE_DIR: cache,
    });
    server = host.process;
    const url = await host.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: HEADLESS_CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    await page.goto(url);
    try {
      await scenario(page, 'browser', async () => {
        const [download] = await Promise.all([
          page.waitForEvent('download', { timeout: 120_000 }),
          page.click('[data-testid="export-pdf"]'),
        ]);
        expect(download.suggestedFilename()).toBe('audit-synthetic-baseline-vs-synthetic-gabn.pdf');
        const file = path.join(SHOTS, 'browser-audit-report.pdf');
        await download.saveAs(file);
        return file;
      });
    } catch (error) {
      await page.screenshot({ path: path.join(SHOTS, 'browser-audit-failure.png') });
      throw error;
    }
  });
});

describe('the Audit and Reports views in the Electron host', () => {
  it('runs the same scenario in the desktop app, saving the PDF through its save dialog', {
    timeout: 360_000,
  }, async (context) => {
    const why = electronBinary.available ? demoMissing : electronBinary.reason;
    if (why) {
      console.log(`Electron audit end-to-end test skipped: ${why}`);
      context.skip();
      return;
    }
    const app = await electron.launch({
      executablePath: (electronBinary as { path: string }).path,
      args: [path.resolve('electron/launch.mjs'), '--workspace', tiny.workspace],
      env: { ...process.env, GABN_CACHE_DIR: cache } as Record<string, string>,
    });
    try {
      const page = await app.firstWindow();
      await page.setViewportSize({ width: 1400, height: 900 });
      const file = path.join(SHOTS, 'electron-audit-report.pdf');
      // The native save dialog cannot be clicked by a test: it answers with the file to write.
      await app.evaluate(({ dialog }, target) => {
        dialog.showSaveDialog = (async () => ({
          canceled: false,
          filePath: target,
        })) as typeof dialog.showSaveDialog;
      }, file);
      await scenario(page, 'electron', async () => {
        await page.click('[data-testid="export-pdf"]');
        await page.waitForSelector('[data-testid="report-message"] >> text=saved', { timeout: 120_000 });
        return file;
      });
    } finally {
      await app.close();
    }
  });
});
