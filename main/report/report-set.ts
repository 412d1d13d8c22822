/**
 * Report documents as files, and the one reader the app uses for all of them:
 *
 * - a fairness audit report (`gabn audit --out x.json`: the report model, kind gabn-fairness-audit);
 * - an audit set (`audit.json` of the app's audit job, kind gabn-audit-set): every audited source's
 *   report, each further source's paired comparison with the first, and the average attention
 *   figures as PNG files beside it;
 * - an ablation (`ablation.json` of `gabn ablate`, kind gabn-ablation): the Table 4 runs' reports.
 *
 * Each is read into one shape (ReportDocument), so that the app lists, shows and exports them alike.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import type { AuditReport, ComparisonReport } from './report-model.ts';

export const AUDIT_SET_KIND = 'gabn-audit-set';
export const AUDIT_SET_FILE = 'audit.json';
/** The point estimates an audit job writes before its bootstrap, replaced by audit.json at the end. */
export const AUDIT_PREVIEW_FILE = 'preview.json';

/** A group's average face and attention map, as PNG files relative to the document's folder. */
export interface AttentionFiles {
  readonly group: string;
  /** Absent when faces were left out. */
  readonly averageFace?: string;
  /** Over the average face, unless faces were left out (then over grey). */
  readonly averageGam: string;
  /** The same map over grey, for a report without faces, when averageGam shows the face. */
  readonly averageGamOnGrey?: string;
}

export interface AuditSetDocument {
  readonly kind: typeof AUDIT_SET_KIND;
  readonly version: 1;
  /** The audited sources' names, in order: the first is A, each other a B compared with it. */
  readonly labels: readonly string[];
  readonly reports: readonly AuditReport[];
  /** comparisons[k]: reports[k + 1] (B) against reports[0] (A), on the same pairs. */
  readonly comparisons: readonly ComparisonReport[];
  /** Per report: its groups' average attention figures, or null where none were computed. */
  readonly attention: readonly (readonly AttentionFiles[] | null)[];
  /** Face images were left out when the audit ran (none were written). */
  readonly noFaces: boolean;
  /** Point estimates only (no intervals, no comparisons yet): the audit is still running. */
  readonly preliminary: boolean;
}

export type ReportFileKind = 'audit' | 'audit-set' | 'ablation';

/** What the app reads from any report file. */
export interface ReportDocument {
  readonly kind: ReportFileKind;
  readonly file: string;
  readonly labels: readonly string[];
  readonly reports: readonly AuditReport[];
  readonly comparisons: readonly ComparisonReport[];
  readonly attention: readonly (readonly AttentionFiles[] | null)[];
  readonly noFaces: boolean;
  readonly preliminary: boolean;
}

const KINDS: Readonly<Record<string, ReportFileKind>> = {
  'gabn-fairness-audit': 'audit',
  [AUDIT_SET_KIND]: 'audit-set',
  'gabn-ablation': 'ablation',
};

/** The kind of report a JSON file holds, from its first bytes (the kind comes first or second). */
export function sniffReportKind(head: string): ReportFileKind | undefined {
  const match = /^\s*\{\s*(?:"schemaVersion"\s*:\s*\d+\s*,\s*)?"kind"\s*:\s*"([a-z-]+)"/.exec(head);
  return match ? KINDS[match[1]!] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkReport(value: unknown, file: string, where: string): AuditReport {
  const expected = 'a fairness audit report (schema version 1) with groups and overall figures';
  if (!isObject(value) || value.kind !== 'gabn-fairness-audit')
    throw new GabnError('malformed', `${where} is not a fairness audit report`, { file, expected });
  if (value.schemaVersion !== 1) {
    throw new GabnError('malformed', `${where} has report schema version ${String(value.schemaVersion)}`, {
      file,
      expected: 'schema version 1 (this version of GABN Studio reads no other)',
    });
  }
  if (!Array.isArray(value.groups) || !isObject(value.overall) || !isObject(value.provenance))
    throw new GabnError('malformed', `${where} lacks its groups, overall figures or provenance`, {
      file,
      expected,
    });
  return value as unknown as AuditReport;
}

function fileLabel(report: AuditReport, fallback: string): string {
  const input = report.provenance.inputs[0];
  return input ? path.basename(input.path) : fallback;
}

function reportsOf(value: Record<string, unknown>, file: string): AuditReport[] {
  if (!Array.isArray(value.reports) || value.reports.length === 0)
    throw new GabnError('malformed', 'no reports in the document', {
      file,
      expected: 'a list "reports" of audit reports',
    });
  return value.reports.map((r, k) => checkReport(r, file, `report ${k + 1}`));
}

function labelsOf(value: Record<string, unknown>, reports: readonly AuditReport[]): string[] {
  const given = Array.isArray(value.labels) ? value.labels : [];
  return reports.map((r, k) =>
    typeof given[k] === 'string' ? (given[k] as string) : fileLabel(r, `audit ${k + 1}`),
  );
}

/** Reads any report file as a ReportDocument; a file that is none is a GabnError naming it. */
export function readReportDocument(file: string): ReportDocument {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code !== undefined;
    throw new GabnError(
      missing ? 'missing-file' : 'malformed',
      missing ? 'the report cannot be read' : `not valid JSON: ${(error as Error).message}`,
      {
        file,
        cause: error,
      },
    );
  }
  const kind = isObject(value) && typeof value.kind === 'string' ? KINDS[value.kind] : undefined;
  if (!isObject(value) || kind === undefined) {
    throw new GabnError('malformed', 'not a report', {
      file,
      expected: 'a fairness audit report, an audit set or an ablation (its "kind" field)',
    });
  }
  if (kind === 'audit') {
    const report = checkReport(value, file, 'the file');
    const c = report.comparison;
    return {
      kind,
      file,
      labels: [fileLabel(report, path.basename(file)), ...(c ? [path.basename(c.candidate.path)] : [])],
      reports: [report],
      comparisons: c ? [c] : [],
      attention: [null],
      noFaces: false,
      preliminary: false,
    };
  }
  const reports = reportsOf(value, file);
  const labels = labelsOf(value, reports);
  if (kind === 'ablation') {
    return {
      kind,
      file,
      labels,
      reports,
      comparisons: [],
      attention: reports.map(() => null),
      noFaces: true,
      preliminary: false,
    };
  }
  const attention = Array.isArray(value.attention) ? (value.attention as AuditSetDocument['attention']) : [];
  return {
    kind,
    file,
    labels,
    reports,
    comparisons: Array.isArray(value.comparisons) ? (value.comparisons as ComparisonReport[]) : [],
    attention: reports.map((_, k) => attention[k] ?? null),
    noFaces: value.noFaces === true,
    preliminary: value.preliminary === true,
  };
}
