/**
 * PDF reports: the HTML report printed by a headless Chromium (Debian's chromium, Chrome, or
 * GABN_CHROMIUM), never a downloaded browser. Written atomically.
 */
import { chromium } from 'playwright-core';
import { writeFileAtomic } from '../base/atomic-files.ts';
import { GabnError } from '../base/errors.ts';
import { findChromium, HEADLESS_CHROMIUM_ARGS } from '../base/host-programs.ts';

export async function printPdf(html: string): Promise<Buffer> {
  const found = findChromium();
  if (!found.available) {
    throw new GabnError('usage', `a PDF report needs Chromium: ${found.reason}`, {
      expected: 'a Chromium or Chrome installation',
    });
  }
  // A Chromium that exists but cannot start (missing libraries, wrong architecture) is the user's
  // installation to fix, so it is reported as a GabnError naming the executable.
  const browser = await chromium
    .launch({ executablePath: found.path, args: HEADLESS_CHROMIUM_ARGS })
    .catch((cause: unknown) => {
      throw new GabnError(
        'usage',
        `Chromium at ${found.path} did not start: ${String(cause).split('\n')[0]}`,
        {
          file: found.path,
          expected: "a working Chromium or Chrome (Debian's chromium package, or GABN_CHROMIUM)",
        },
      );
    });
  try {
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({
      format: 'A4',
      printBackground: true,
      margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' },
    });
  } finally {
    await browser.close();
  }
}

export async function writePdfReport(file: string, html: string): Promise<void> {
  await writeFileAtomic(file, await printPdf(html));
}
