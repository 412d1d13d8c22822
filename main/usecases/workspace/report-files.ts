/**
 * Every report in a workspace: the audit sets of the app's audit runs (runs/<id>/audit.json), the
 * ablations (ablation.json, in a run folder or anywhere else), and the JSON reports `gabn audit --out`
 * wrote anywhere in the workspace (`gabn start --audit` writes reports/demo-audit.json). Files are
 * recognised by their first bytes, so large unrelated JSON files are never parsed.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import { AUDIT_SET_FILE, type ReportFileKind, sniffReportKind } from '../../report/report-set.ts';
import { isRunId } from '../../runs/run-folder.ts';

export interface FoundReport {
  readonly file: string;
  readonly kind: ReportFileKind;
  /** The run folder's id, for reports inside one. */
  readonly runId?: string;
}

/** Folders of a workspace that hold data, checkpoints or runs, never loose reports. */
const SKIPPED = new Set(['runs', 'synthetic', 'checkpoints', 'node_modules']);
const DEPTH = 4;

function head(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(256);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function kindOf(file: string): ReportFileKind | undefined {
  try {
    return sniffReportKind(head(file));
  } catch {
    return undefined;
  }
}

function walk(dir: string, depth: number, found: FoundReport[]): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth < DEPTH && !SKIPPED.has(entry.name) && !entry.name.endsWith('.gabn'))
        walk(full, depth + 1, found);
    } else if (entry.isFile() && entry.name.endsWith('.json')) {
      const kind = kindOf(full);
      if (kind !== undefined) found.push({ file: full, kind });
    }
  }
}

export function discoverReports(workspace: string): FoundReport[] {
  const found: FoundReport[] = [];
  const runs = path.join(workspace, 'runs');
  if (existsSync(runs)) {
    for (const id of readdirSync(runs).sort()) {
      if (!isRunId(id)) continue;
      for (const name of [AUDIT_SET_FILE, 'ablation.json']) {
        const file = path.join(runs, id, name);
        const kind = existsSync(file) ? kindOf(file) : undefined;
        if (kind !== undefined) found.push({ file, kind, runId: id });
      }
    }
  }
  walk(workspace, 1, found);
  return found;
}
