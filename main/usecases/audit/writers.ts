/**
 * Every report format, by file extension, and the check that a list of report files names only
 * formats that exist (done before any work starts). HTML and PDF show every audited checkpoint side
 * by side; JSON and CSV hold the first (the one audited, or A of a comparison).
 */
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { writeCsvReport } from '../../report/csv.ts';
import { type HtmlOptions, renderHtmlReport, writeHtmlReport } from '../../report/html.ts';
import { writeJsonReport } from '../../report/json.ts';
import { writePdfReport } from '../../report/pdf.ts';
import type { AuditReport } from '../../report/report-model.ts';

export type ReportWriter = (file: string, reports: AuditReport[], options: HtmlOptions) => Promise<void>;

export const REPORT_WRITERS: Readonly<Record<string, ReportWriter>> = {
  '.json': (file, reports) => writeJsonReport(file, reports[0]!),
  '.csv': (file, reports) => writeCsvReport(file, reports[0]!),
  '.html': (file, reports, options) => writeHtmlReport(file, reports, options),
  '.pdf': (file, reports, options) => writePdfReport(file, renderHtmlReport(reports, options)),
};

export const REPORT_FORMATS = Object.keys(REPORT_WRITERS);

export function writerFor(file: string): ReportWriter {
  const writer = REPORT_WRITERS[path.extname(file).toLowerCase()];
  if (writer === undefined) {
    throw new GabnError('usage', `cannot tell the report format of '${file}'`, {
      expected: `a file name ending in ${REPORT_FORMATS.join(', ')}`,
    });
  }
  return writer;
}

/** Whether any of `files` is a format with pictures (the average attention maps go there). */
export function hasVisualFormat(files: readonly string[]): boolean {
  return files.some((f) => ['.html', '.pdf'].includes(path.extname(f).toLowerCase()));
}
