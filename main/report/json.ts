/** The report as JSON: the model itself, indented for people who open it. */
import { writeFileAtomic } from '../base/atomic-files.ts';
import type { AuditReport } from './report-model.ts';

export function renderJsonReport(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export async function writeJsonReport(file: string, report: AuditReport): Promise<void> {
  await writeFileAtomic(file, renderJsonReport(report));
}
