/**
 * The audit set of an audit run folder: audit.json (every source's report, the comparisons, where the
 * attention figures are) with the figures as PNG files under attention/, and preview.json, the point
 * estimates written before the bootstrap. Each file is written atomically, the PNGs before the
 * document that names them, so a folder whose audit.json exists is complete.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../base/atomic-files.ts';
import type { AuditReport } from '../../report/report-model.ts';
import {
  type AttentionFiles,
  AUDIT_PREVIEW_FILE,
  AUDIT_SET_FILE,
  AUDIT_SET_KIND,
  type AuditSetDocument,
} from '../../report/report-set.ts';
import type { AuditOutcome } from './run-audit.ts';

function json(document: AuditSetDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** preview.json: the point estimates of every source, before any interval. */
export async function writeAuditPreview(
  dir: string,
  preview: { reports: AuditReport[]; labels: string[] },
  noFaces: boolean,
): Promise<void> {
  await writeFileAtomic(
    path.join(dir, AUDIT_PREVIEW_FILE),
    json({
      kind: AUDIT_SET_KIND,
      version: 1,
      labels: preview.labels,
      reports: preview.reports,
      comparisons: [],
      attention: preview.reports.map(() => null),
      noFaces,
      preliminary: true,
    }),
  );
}

/** attention/<report>/<group index>-face.png and -gam.png, then audit.json; the preview goes. */
export async function writeAuditSet(dir: string, outcome: AuditOutcome, noFaces: boolean): Promise<string> {
  const attention: (AttentionFiles[] | null)[] = [];
  for (const [k, figures] of outcome.attention.entries()) {
    if (figures === undefined) {
      attention.push(null);
      continue;
    }
    const folder = path.join('attention', String(k));
    mkdirSync(path.join(dir, folder), { recursive: true });
    const files: AttentionFiles[] = [];
    for (const [g, figure] of figures.entries()) {
      const averageGam = path.posix.join('attention', String(k), `${g}-gam.png`);
      await writeFileAtomic(path.join(dir, averageGam), figure.averageGamPng);
      const entry: AttentionFiles = { group: figure.group, averageGam };
      if (!noFaces && figure.averageFacePng && figure.averageGamOnGreyPng) {
        const averageFace = path.posix.join('attention', String(k), `${g}-face.png`);
        const averageGamOnGrey = path.posix.join('attention', String(k), `${g}-gam-on-grey.png`);
        await writeFileAtomic(path.join(dir, averageFace), figure.averageFacePng);
        await writeFileAtomic(path.join(dir, averageGamOnGrey), figure.averageGamOnGreyPng);
        files.push({ ...entry, averageFace, averageGamOnGrey });
      } else {
        files.push(entry);
      }
    }
    attention.push(files);
  }
  const file = path.join(dir, AUDIT_SET_FILE);
  await writeFileAtomic(
    file,
    json({
      kind: AUDIT_SET_KIND,
      version: 1,
      labels: outcome.labels,
      reports: outcome.reports,
      comparisons: outcome.comparisons,
      attention,
      noFaces,
      preliminary: false,
    }),
  );
  rmSync(path.join(dir, AUDIT_PREVIEW_FILE), { force: true });
  return file;
}
