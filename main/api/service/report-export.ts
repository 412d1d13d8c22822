/**
 * A report rendered to a file's bytes, for the Reports view's exports (a download in the browser, a
 * save dialog in the desktop app) and for the HTML the app shows: HTML (with the average attention
 * figures of an app audit), PDF (that HTML printed by Chromium), JSON and CSV. Face images are left
 * out on request, and always when the audit ran without them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { renderCsvReport, renderTableCsv } from '../../report/csv.ts';
import { type HtmlOptions, renderHtmlReport } from '../../report/html.ts';
import { renderJsonReport } from '../../report/json.ts';
import { printPdf } from '../../report/pdf.ts';
import { AUDIT_SET_KIND, type ReportDocument } from '../../report/report-set.ts';
import type { ReportExportRequest, ReportFile, ReportFormat } from '../contract.ts';
import { type ReportEntry, type ReportRegistry, titleOf } from './reports.ts';

const MIME: Readonly<Record<ReportFormat, string>> = {
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
};

/** A file name from what was audited: "audit-synthetic-baseline-vs-synthetic-gabn.pdf". */
export function exportName(entry: ReportEntry, doc: ReportDocument, format: ReportFormat): string {
  if (entry.origin !== 'app') return `${path.basename(entry.found.file, '.json')}.${format}`;
  const slug = doc.labels
    .map((l) => l.replace(/\.(gabn|csv)$/i, ''))
    .join('-vs-')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 100);
  return `audit-${slug || entry.id}.${format}`;
}

/** The first report's average attention figures, read from the run folder. */
async function attentionOf(doc: ReportDocument, noFaces: boolean): Promise<HtmlOptions['attention']> {
  const files = doc.attention[0];
  if (!files) return undefined;
  const dir = path.dirname(doc.file);
  const out: NonNullable<HtmlOptions['attention']>[number][] = [];
  for (const f of files) {
    // Without faces, the map over grey: the one over the face shows the face through it.
    const averageGamPng = await readFile(
      path.join(dir, noFaces ? (f.averageGamOnGrey ?? f.averageGam) : f.averageGam),
    );
    const averageFacePng =
      !noFaces && f.averageFace ? await readFile(path.join(dir, f.averageFace)) : undefined;
    out.push({ group: f.group, averageGamPng, ...(averageFacePng ? { averageFacePng } : {}) });
  }
  return out;
}

async function html(entry: ReportEntry, doc: ReportDocument, noFaces: boolean): Promise<string> {
  // The HTML `gabn audit` wrote beside its JSON holds the attention figures the JSON lacks.
  const beside = entry.found.file.replace(/\.json$/, '.html');
  if (entry.origin === 'cli' && !noFaces && existsSync(beside)) return readFileSync(beside, 'utf8');
  const attention = await attentionOf(doc, noFaces);
  return renderHtmlReport(doc.reports, {
    title: titleOf(entry, doc),
    labels: doc.labels,
    noFaces,
    comparisons: doc.comparisons,
    ...(attention ? { attention } : {}),
  });
}

function json(entry: ReportEntry, doc: ReportDocument): string | Buffer {
  if (doc.kind === 'ablation' || (entry.origin === 'cli' && doc.reports.length === 1))
    return readFileSync(entry.found.file);
  if (doc.reports.length === 1) return renderJsonReport(doc.reports[0]!);
  const set = {
    kind: AUDIT_SET_KIND,
    version: 1,
    labels: doc.labels,
    reports: doc.reports,
    comparisons: doc.comparisons,
  };
  return `${JSON.stringify(set, null, 2)}\n`;
}

export async function exportReport(
  reports: ReportRegistry,
  request: ReportExportRequest,
): Promise<ReportFile> {
  const entry = reports.find(request.reportId);
  const doc = reports.documentOf(entry.found.file);
  if (doc.preliminary) {
    throw new GabnError('busy', 'the audit is still running: its report has no intervals yet', {
      expected: 'the export once the audit has finished',
    });
  }
  const noFaces = request.noFaces === true || doc.noFaces;
  let bytes: string | Buffer;
  switch (request.format) {
    case 'html':
      bytes = await html(entry, doc, noFaces);
      break;
    case 'pdf':
      bytes = await printPdf(await html(entry, doc, noFaces));
      break;
    case 'json':
      bytes = json(entry, doc);
      break;
    case 'csv':
      bytes =
        doc.reports.length === 1 ? renderCsvReport(doc.reports[0]!) : renderTableCsv(doc.reports, doc.labels);
      break;
  }
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return {
    fileName: exportName(entry, doc, request.format),
    mime: MIME[request.format],
    base64: buffer.toString('base64'),
    etag: createHash('sha1').update(buffer).digest('hex'),
  };
}
