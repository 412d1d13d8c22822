import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { findChromium, HEADLESS_CHROMIUM_ARGS } from '../../../main/base/host-programs.ts';
import { DEFAULT_PROTOCOL, prepareAudit } from '../../../main/eval/audit-figures.ts';
import { bootstrapFigures } from '../../../main/eval/bootstrap.ts';
import { buildAuditReport } from '../../../main/report/audit-report.ts';
import { encodePng } from '../../../main/report/figures/attention-figures.ts';
import { renderHtmlReport } from '../../../main/report/html.ts';
import { printPdf, writePdfReport } from '../../../main/report/pdf.ts';
import type { AuditReport } from '../../../main/report/report-model.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'gabn-html-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Two groups of synthetic distances; the second is harder. */
function groups(names: [string, string], shift: number) {
  let s = 11;
  const random = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  return names.map((name, g) => {
    const n = 200;
    const same = Uint8Array.from({ length: n }, (_, i) => (i % 20 < 10 ? 1 : 0));
    const distances = Float64Array.from(same, (v) =>
      v ? 0.6 + 0.5 * random() + g * shift : 1.0 + 0.6 * random(),
    );
    return { name, distances, same };
  });
}

async function report(names: [string, string], shift = 0.25): Promise<AuditReport> {
  const audit = prepareAudit(groups(names, shift), DEFAULT_PROTOCOL);
  const bootstrap = await bootstrapFigures(audit, { resamples: 50, seed: 1 });
  return buildAuditReport({
    audit,
    bootstrap,
    explicitFolds: false,
    provenance: {
      software: { name: 'GABN Studio', version: '0.1.0' },
      createdAt: '2026-01-01T00:00:00.000Z',
      commandLine: ['gabn', 'audit'],
      inputs: [{ role: 'scores', path: '/data/a.csv', sha256: 'ab'.repeat(32) }],
    },
  });
}

/**
 * Groups whose impostors all lie far away (no false match at any global threshold: an infinite
 * max/min FMR ratio) but for the first, and an increasing genuine spread.
 */
function groupsWithoutFalseMatches(count: number) {
  let s = 5;
  const random = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  return Array.from({ length: count }, (_, g) => {
    const same = Uint8Array.from({ length: 200 }, (_, i) => (i % 20 < 10 ? 1 : 0));
    const distances = Float64Array.from(same, (v) =>
      v ? 0.5 + (0.4 + 0.15 * g) * random() : g === 0 ? 0.6 + 1.2 * random() : 2.5 + random(),
    );
    return { name: `group-${String.fromCharCode(97 + g)}`, distances, same };
  });
}

describe('HTML report', () => {
  it('says an infinite ratio in words, naming the groups that make it infinite', async () => {
    const audit = prepareAudit(groupsWithoutFalseMatches(3), DEFAULT_PROTOCOL);
    const r = buildAuditReport({
      audit,
      bootstrap: await bootstrapFigures(audit, { resamples: 30, seed: 1 }),
      explicitFolds: false,
      provenance: {
        software: { name: 'GABN Studio', version: '0' },
        createdAt: '',
        commandLine: [],
        inputs: [],
      },
    });
    expect(r.overall.operatingPoints[1]!.fmrRatio.value).toBeNull();
    const html = renderHtmlReport([r]);
    expect(html).not.toContain('∞');
    expect(html).toContain('infinite: group-b and group-c made no false matches');
  });

  it('holds the model numbers, intervals and charts, with no script and no external resource', async () => {
    const r = await report(['group-a', 'group-b']);
    const html = renderHtmlReport([r]);
    const g = r.groups[1]!;
    expect(html).toContain(
      `${g.accuracy.value!.toFixed(2)} <span class="ci">[${g.accuracy.interval!.lower!.toFixed(2)}, ${g.accuracy.interval!.upper!.toFixed(2)}]</span>`,
    );
    expect(html).toContain(`${r.overall.std.value!.toFixed(2)} <span class="ci">`);
    expect(html.match(/<svg /g)).toHaveLength(3 + r.groups.length);
    expect(html.match(/<polyline/g)!.length).toBeGreaterThanOrEqual(2 * 2 + 2 * r.groups.length);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="https?:/i);
  });
  it('escapes every name that comes from input', async () => {
    const r = await report(['<script>alert(1)</script>', 'b&"c']);
    const html = renderHtmlReport([r]);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('b&amp;&quot;c');
  });
  it("shows several audits side by side like the paper's Table 4", async () => {
    const a = await report(['group-a', 'group-b'], 0.3);
    const b = await report(['group-a', 'group-b'], 0.05);
    const html = renderHtmlReport([a, b], { labels: ['baseline.gabn', 'gabn.gabn'] });
    expect(html).toMatch(/<th scope="row">baseline\.gabn<\/th>.*<th scope="row">gabn\.gabn<\/th>/s);
    expect(html).toContain(`<td>${b.overall.std.value!.toFixed(2)} <span class="ci">`);
  });
  it('--no-faces leaves every face image out and keeps the attention maps', async () => {
    const r = await report(['group-a', 'group-b']);
    const png = new Uint8Array([137, 80, 78, 71]);
    const attention = [{ group: 'group-a', averageFacePng: png, averageGamPng: png }];
    expect(renderHtmlReport([r], { attention }).match(/data:image/g)).toHaveLength(2);
    const withoutFaces = renderHtmlReport([r], { attention, noFaces: true });
    expect(withoutFaces.match(/data:image/g)).toHaveLength(1);
    // A map drawn over the face is replaced by the one over grey when faces are left out.
    const grey = new Uint8Array([137, 80, 78, 71, 1]);
    const both = renderHtmlReport([r], {
      attention: [{ ...attention[0]!, averageGamOnGreyPng: grey }],
      noFaces: true,
    });
    expect(both).toContain(Buffer.from(grey).toString('base64'));
    expect(both).not.toContain(`base64,${Buffer.from(png).toString('base64')}"`);
    expect(withoutFaces).toContain('Face images are left out of this report.');
  });

  it('a PDF without Chromium fails with a GabnError that says how to get one, and writes nothing', async () => {
    const saved = process.env.GABN_CHROMIUM;
    process.env.GABN_CHROMIUM = path.join(root, 'no-such-chromium');
    const file = path.join(root, 'none.pdf');
    try {
      await expect(writePdfReport(file, '<p>x</p>')).rejects.toMatchObject({
        name: 'GabnError',
        message: expect.stringContaining('GABN_CHROMIUM'),
      });
    } finally {
      if (saved === undefined) delete process.env.GABN_CHROMIUM;
      else process.env.GABN_CHROMIUM = saved;
    }
    expect(existsSync(file)).toBe(false);
  });
});

const chromiumFound = findChromium();
if (!chromiumFound.available)
  console.log(`skipping the browser rendering and PDF tests: ${chromiumFound.reason}`);

describe.skipIf(!chromiumFound.available)('HTML report in Chromium, and PDF', () => {
  it('renders with its summary table visible and no console error; saves a screenshot', async () => {
    const file = path.join(root, 'report.html');
    writeFileSync(file, renderHtmlReport([await report(['group-a', 'group-b'])]));
    const browser = await chromium.launch({
      executablePath: (chromiumFound as { path: string }).path,
      args: HEADLESS_CHROMIUM_ARGS,
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`file://${file}`);
      expect(await page.locator('table.summary').isVisible()).toBe(true);
      expect(await page.locator('svg').count()).toBe(5);
      mkdirSync('.test-output/report', { recursive: true });
      await page.screenshot({ path: '.test-output/report/report.png', fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
  it('prints no heading alone at the bottom of a page, and no ∞', async (context) => {
    if (!existsSync('/usr/bin/pdftotext')) {
      console.log('PDF layout not checked: pdftotext (poppler-utils) is not installed');
      context.skip();
    }
    const face = await encodePng({
      width: 56,
      height: 56,
      pixels: Uint8Array.from({ length: 56 * 56 * 3 }, (_, i) => (i * 7) % 256),
    });
    const headings = [
      'Summary',
      'Per group',
      'Score distributions',
      'Average gradient attention per group',
      'Protocol and provenance',
    ];
    for (const count of [2, 4, 6]) {
      const audit = prepareAudit(groupsWithoutFalseMatches(count), DEFAULT_PROTOCOL);
      const r = buildAuditReport({
        audit,
        bootstrap: await bootstrapFigures(audit, { resamples: 20, seed: 2 }),
        explicitFolds: false,
        provenance: {
          software: { name: 'GABN Studio', version: '0' },
          createdAt: '',
          commandLine: ['gabn'],
          inputs: [],
        },
      });
      const attention = r.groups.map((g) => ({ group: g.name, averageFacePng: face, averageGamPng: face }));
      const file = path.join(root, `layout-${count}.pdf`);
      writeFileSync(file, await printPdf(renderHtmlReport([r, r], { attention, labels: ['A', 'B'] })));
      const pages = execFileSync('/usr/bin/pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).split(
        '\f',
      );
      const text = pages.join('\n');
      expect(text).not.toContain('∞');
      expect(text).toContain('infinite:');
      for (const heading of headings) expect(text).toContain(heading);
      pages.forEach((page, k) => {
        const lines = page
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '');
        // The last line of a page is never a heading whose content went to the next page.
        if (lines.length > 0)
          expect(headings, `page ${k + 1} of the ${count}-group report ends with a heading`).not.toContain(
            lines.at(-1),
          );
      });
    }
  });
  it('gabn audit writes a PDF that holds the metrics table', () => {
    const scores = path.join(root, 'scores.csv');
    const lines = ['group,same,score'];
    for (const g of groups(['group-a', 'group-b'], 0.25)) {
      g.distances.forEach((d, i) => {
        lines.push(`${g.name},${g.same[i]},${(1 - d / 2).toFixed(6)}`);
      });
    }
    writeFileSync(scores, `${lines.join('\n')}\n`);
    const pdf = path.join(root, 'report.pdf');
    const run = spawnSync(
      process.execPath,
      ['bin/gabn.js', 'audit', '--scores', scores, '--bootstrap', '20', '--out', pdf],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    if (!existsSync('/usr/bin/pdftotext')) {
      console.log('not checking the PDF text: pdftotext (poppler-utils) is not installed');
      return;
    }
    const text = execFileSync('/usr/bin/pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    expect(text).toMatch(/Average accuracy \(%\)/);
    expect(text).toMatch(/STD of group accuracies/);
    expect(text).toMatch(/group-a/);
  });
});
