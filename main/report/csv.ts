/**
 * The report as CSV, one row per group: counts, accuracy with its interval, the folds, FMR/FNMR at
 * each global threshold and TAR at each FAR, each with its interval. Empty cells are figures that
 * are infinite or intervals that were not computed. Overall figures live in the JSON report.
 */
import { writeFileAtomic } from '../base/atomic-files.ts';
import type { AuditReport, Estimate } from './report-model.ts';

function cell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function estimateCells(e: Estimate): (number | null)[] {
  return [e.value, e.interval?.lower ?? null, e.interval?.upper ?? null];
}

export function renderCsvReport(report: AuditReport): string {
  const header = ['group', 'pairs', 'positives', 'negatives', 'accuracy', 'accuracy_lower', 'accuracy_upper'];
  header.push('fold_accuracies', 'fold_thresholds');
  for (const fmr of report.protocol.targetFmrs) {
    for (const rate of ['fmr', 'fnmr']) {
      header.push(`${rate}_at_fmr_${fmr}`, `${rate}_at_fmr_${fmr}_lower`, `${rate}_at_fmr_${fmr}_upper`);
    }
  }
  for (const far of report.protocol.tarFars)
    header.push(`tar_at_far_${far}`, `tar_at_far_${far}_lower`, `tar_at_far_${far}_upper`);
  const rows = report.groups.map((g) => {
    const values: (string | number | null)[] = [
      g.name,
      g.pairs,
      g.positives,
      g.negatives,
      ...estimateCells(g.accuracy),
    ];
    values.push(g.folds.map((f) => f.accuracy).join(';'), g.folds.map((f) => f.threshold).join(';'));
    for (const op of g.operatingPoints) values.push(...estimateCells(op.fmr), ...estimateCells(op.fnmr));
    for (const t of g.tarAtFar) values.push(...estimateCells(t.tar));
    return values.map(cell).join(',');
  });
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

export async function writeCsvReport(file: string, report: AuditReport): Promise<void> {
  await writeFileAtomic(file, renderCsvReport(report));
}

/**
 * Several reports on the same pairs as one table, a row per audited source (the paper's Table 4):
 * each group's accuracy, then Avg, STD and SER, each with its interval.
 */
export function renderTableCsv(reports: readonly AuditReport[], labels: readonly string[]): string {
  const groups = reports[0]?.groups.map((g) => g.name) ?? [];
  const columns = (name: string) => [name, `${name}_lower`, `${name}_upper`];
  const header = [
    'source',
    ...groups.flatMap((g) => columns(`accuracy_${g}`)),
    ...['avg', 'std', 'ser'].flatMap(columns),
  ];
  const rows = reports.map((r, k) => {
    const accuracy = groups.flatMap((name) => {
      const g = r.groups.find((x) => x.name === name);
      return g ? estimateCells(g.accuracy) : [null, null, null];
    });
    const o = r.overall;
    return [
      labels[k] ?? `audit ${k + 1}`,
      ...accuracy,
      ...estimateCells(o.average),
      ...estimateCells(o.std),
      ...estimateCells(o.ser),
    ]
      .map(cell)
      .join(',');
  });
  return `${[header.map(cell).join(','), ...rows].join('\n')}\n`;
}
