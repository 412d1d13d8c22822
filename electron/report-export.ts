/**
 * Saving a report from the desktop app: the native save dialog, and PDF printed by Electron's own
 * Chromium (printToPDF of the report's HTML in a hidden window with no script and no Node), so the
 * desktop app needs no other browser. Other formats are the service's bytes. The file is written
 * atomically (a temporary file renamed into place): never half a report.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { app, BrowserWindow, dialog, type BrowserWindow as Window } from 'electron';
import type { ReportExportRequest } from '../main/api/contract.ts';
import type { HostedService } from '../main/api/service.ts';
import { validateArgument } from '../main/api/validation.ts';
import { writeFileAtomic } from '../main/base/atomic-files.ts';

const FILTERS: Record<ReportExportRequest['format'], { name: string; extensions: string[] }> = {
  html: { name: 'HTML report', extensions: ['html'] },
  pdf: { name: 'PDF report', extensions: ['pdf'] },
  json: { name: 'JSON report', extensions: ['json'] },
  csv: { name: 'CSV table', extensions: ['csv'] },
};

/** The HTML printed to A4 with the margins of `gabn audit`'s PDFs (12 mm top and bottom, 10 mm sides). */
async function printToPdf(html: string): Promise<Buffer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-print-'));
  const page = new BrowserWindow({
    show: false,
    webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false, javascript: false },
  });
  try {
    const file = path.join(dir, 'report.html');
    writeFileSync(file, html);
    await page.loadFile(file);
    return await page.webContents.printToPDF({
      pageSize: 'A4',
      printBackground: true,
      margins: { top: 12 / 25.4, bottom: 12 / 25.4, left: 10 / 25.4, right: 10 / 25.4 },
    });
  } finally {
    page.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Asks where to save, renders, writes; resolves with the path saved, or undefined when cancelled. */
export async function saveReport(
  window: Window,
  service: HostedService,
  argument: unknown,
): Promise<string | undefined> {
  const request = validateArgument('exportReport', argument);
  const pdf = request.format === 'pdf';
  const rendered = await service.call('exportReport', pdf ? { ...request, format: 'html' } : request);
  const fileName = pdf ? rendered.fileName.replace(/\.html$/, '.pdf') : rendered.fileName;
  const chosen = await dialog.showSaveDialog(window, {
    title: 'Save the report',
    defaultPath: path.join(app.getPath('documents'), fileName),
    filters: [FILTERS[request.format]],
  });
  if (chosen.canceled || !chosen.filePath) return undefined;
  const bytes = Buffer.from(rendered.base64, 'base64');
  await writeFileAtomic(chosen.filePath, pdf ? await printToPdf(bytes.toString('utf8')) : bytes);
  return chosen.filePath;
}
