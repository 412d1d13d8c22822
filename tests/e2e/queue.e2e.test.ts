/**
 * An ablation grid on a Redis queue, end to end in a real browser: a workspace whose queue.json names
 * a Redis of the test's own (redis-server on a free loopback port), two `gabn worker` processes that
 * read it, and `gabn serve`. The Train view queues a 2-preset × 2-seed grid; the Runs view names the
 * worker of each run, and shows the side-by-side table once the grid is trained and compared.
 * Screenshots go to .test-output/e2e/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { HEADLESS_CHROMIUM_ARGS } from '../../main/base/host-programs.ts';
import { ensureRendererBuilt } from '../../main/cli/renderer-build.ts';
import { type RedisServer, redisServerMissing, startRedisServer } from '../helpers/redis-server.ts';
import { writeTinyCheckpoint } from '../helpers/tiny-checkpoint.ts';
import { makeTinyTrainingSet } from '../unit/train/tiny-training-set.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve('.test-output/e2e');
const missing = (() => {
  try {
    accessSync(CHROMIUM);
  } catch {
    return `${CHROMIUM} is absent (install Debian's chromium package)`;
  }
  return redisServerMissing();
})();

/** A `gabn` process, resolved with it once its output says `ready`. */
function gabn(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, ['bin/gabn.js', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const match = ready.exec(text);
      if (match) resolve({ child, match });
    });
    child.on('exit', (code) => reject(new Error(`gabn ${args[0]} exited with ${code}: ${text}`)));
  });
}

const children: ChildProcess[] = [];
let redis: RedisServer | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await redis?.stop();
}, 120_000);

describe('an ablation grid on a queue, in the browser host', () => {
  it('is shared by two workers, each run naming its worker, and compared side by side', async (context) => {
    if (missing) {
      console.log(`queue end-to-end test skipped: ${missing}`);
      context.skip();
    }
    mkdirSync(SHOTS, { recursive: true });
    await ensureRendererBuilt();
    const workspace = mkdtempSync(path.join(os.tmpdir(), 'gabn-e2e-queue-'));
    await makeTinyTrainingSet(workspace);
    mkdirSync(path.join(workspace, 'checkpoints'), { recursive: true });
    await writeTinyCheckpoint(path.join(workspace, 'checkpoints'), [
      'group-a',
      'group-b',
      'group-c',
      'group-d',
    ]);
    redis = await startRedisServer();
    writeFileSync(path.join(workspace, 'queue.json'), JSON.stringify({ url: redis.url }));
    const worker = (name: string) =>
      gabn(['worker', '--workspace', workspace, '--name', name, '--lock-ms', '2000'], /Press Ctrl-C/);
    const [, , host] = await Promise.all([
      worker('lab-1'),
      worker('lab-2'),
      gabn(
        ['serve', '--workspace', workspace, '--port', '0'],
        /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/,
      ),
    ]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: HEADLESS_CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(host.match[1]!);
    try {
      await page.click('[data-testid="nav-train"]');
      await page.waitForSelector('[data-testid="setting-batchSize"]');
      await page.selectOption('[data-testid="field-config"]', 'tiny');
      await page.fill('[data-testid="setting-batchSize"]', '8');
      await page.fill('[data-testid="setting-epochs"]', '1');
      await page.click('[data-testid="grid-toggle"]');
      for (const preset of ['random-erase', 'confidence', 'sfre', 'gam-loss', 'random-erase+gam-loss'])
        if (await page.locator(`.presets input[value="${preset}"]`).count())
          await page.uncheck(`.presets input[value="${preset}"]`);
      const ticked = await page.$$eval('.presets input:checked', (inputs) =>
        inputs.map((i) => (i as HTMLInputElement).value),
      );
      for (const preset of ticked)
        if (preset !== 'baseline' && preset !== 'gabn')
          await page.uncheck(`.presets input[value="${preset}"]`);
      await page.fill('.grid input[type="number"]', '2');
      await page.waitForSelector('[data-testid="queue-grid"] >> text=Queue 4 runs and their comparison');
      await page.click('[data-testid="queue-grid"]');

      await page.click('[data-testid="nav-runs"]');
      await page.waitForSelector('[data-testid="run-table"] th >> text=Worker', { timeout: 60_000 });
      // The comparison's table: once every run is trained and the comparison has run.
      await page.waitForSelector('[data-testid="ablations"] table.table4 tbody tr >> nth=3', {
        timeout: 240_000,
      });
      const workers = await page.$$eval('[data-testid="run-worker"]', (cells) =>
        cells.map((c) => c.textContent),
      );
      expect(workers).toHaveLength(4);
      expect(new Set(workers)).toEqual(new Set(['lab-1', 'lab-2']));
      const rows = await page.$$eval('[data-testid="ablations"] table.table4 tbody tr', (trs) =>
        trs.map((tr) =>
          Array.from(tr.querySelectorAll('td'), (td) => td.textContent?.trim() ?? '').slice(0, 2),
        ),
      );
      expect(rows).toEqual([
        ['baseline', '1'],
        ['baseline', '2'],
        ['gabn', '1'],
        ['gabn', '2'],
      ]);
      // Each run's GAM distance with its interval (the second last column).
      const distances = await page.$$eval('[data-testid="ablations"] table.table4 tbody tr', (trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td')).at(-2)?.textContent?.trim() ?? ''),
      );
      for (const cell of distances) expect(cell).toMatch(/^0\.\d{3} \[0\.\d{3}, [01]\.\d{3}\]$/);
      expect(await page.textContent('[data-testid="queue"]')).toContain(redis!.url);
      await page.screenshot({ path: path.join(SHOTS, 'queue-runs-workers.png'), fullPage: true });
      expect(problems).toEqual([]);
    } catch (error) {
      await page.screenshot({ path: path.join(SHOTS, 'queue-failure.png'), fullPage: true });
      throw error;
    }
  }, 420_000);
});
