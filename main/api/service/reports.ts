/**
 * The reports of the workspace, as the Audit and Reports views see them: found on disk at every
 * listing (an audit the app ran, a file `gabn audit --out` wrote, an ablation), each under a stable
 * id (a run's id, or one made from the file's real path), read once per change of the file, and
 * opened with what the views need besides the report model: the comparisons in sentences, the
 * audited checkpoints and dataset opened, and each worst pair's images as the dataset lists them.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { comparisonVerdict } from '../../report/comparison-verdict.ts';
import type { AuditReport } from '../../report/report-model.ts';
import {
  AUDIT_PREVIEW_FILE,
  AUDIT_SET_FILE,
  type ReportDocument,
  readReportDocument,
} from '../../report/report-set.ts';
import { isRunId } from '../../runs/run-folder.ts';
import { discoverReports, type FoundReport } from '../../usecases/workspace/report-files.ts';
import type { ImageRef, ReportOrigin, ReportSummary, ReportView, ResolvedPair } from '../contract.ts';
import { LruCache } from '../lru.ts';
import { type CheckpointRegistry, idOf, realPathOf } from './checkpoints.ts';
import { type DatasetRegistry, entryOf, type OpenDataset } from './datasets.ts';

export interface ReportEntry {
  readonly id: string;
  readonly found: FoundReport;
  readonly origin: ReportOrigin;
}

const ORIGIN: Readonly<Record<FoundReport['kind'], ReportOrigin>> = {
  audit: 'cli',
  'audit-set': 'app',
  ablation: 'ablation',
};

/** A title a person recognises: what was audited, and for a file, its name. */
export function titleOf(entry: ReportEntry, doc: ReportDocument): string {
  const labels = doc.labels;
  if (entry.origin === 'ablation')
    return `Ablation: ${doc.reports.length} runs (${path.basename(path.dirname(entry.found.file))})`;
  const what = labels.length <= 2 ? labels.join(' vs ') : `${labels[0]} and ${labels.length - 1} others`;
  return entry.origin === 'cli'
    ? `Audit of ${what} (${path.basename(entry.found.file)})`
    : `Audit of ${what}`;
}

export function createReportRegistry(deps: {
  workspace: string;
  checkpoints: CheckpointRegistry;
  datasets: DatasetRegistry;
}) {
  const { workspace, checkpoints, datasets } = deps;
  const entries = new Map<string, ReportEntry>();
  const documents = new LruCache<string, { stamp: string; doc: ReportDocument }>(32);
  const imageIndex = new WeakMap<OpenDataset, Map<string, number>>();

  function reportEntry(found: FoundReport): ReportEntry {
    const id = found.runId ?? idOf('r', realPathOf(found.file, 'report'));
    return { id, found, origin: ORIGIN[found.kind] };
  }

  function scan(): ReportEntry[] {
    const list = discoverReports(workspace).map(reportEntry);
    entries.clear();
    for (const e of list) entries.set(e.id, e);
    return list;
  }

  /** The document, read again only when its file changed. */
  function documentOf(file: string): ReportDocument {
    const stat = statSync(file);
    const stamp = `${stat.mtimeMs}:${stat.size}`;
    const cached = documents.get(file);
    if (cached?.stamp === stamp) return cached.doc;
    const doc = readReportDocument(file);
    documents.set(file, { stamp, doc });
    return doc;
  }

  function summaryOf(entry: ReportEntry, doc: ReportDocument): ReportSummary {
    const first = doc.reports[0]!;
    return {
      id: entry.id,
      origin: entry.origin,
      title: titleOf(entry, doc),
      path: entry.found.file,
      createdAt: first.provenance.createdAt,
      labels: [...doc.labels],
      groups: first.groups.map((g) => g.name),
      pairs: first.groups.reduce((n, g) => n + g.pairs, 0),
      comparisons: doc.comparisons.length,
      ...(entry.found.runId === undefined ? {} : { jobId: entry.found.runId }),
    };
  }

  /** The report `id`: a listed one, or an audit run still at its point estimates (preview.json). */
  function find(id: string): ReportEntry {
    const known = entries.get(id) ?? scan().find((e) => e.id === id);
    if (known) return known;
    const run = path.join(workspace, 'runs', id);
    const preview = path.join(run, AUDIT_PREVIEW_FILE);
    if (isRunId(id) && existsSync(preview) && !existsSync(path.join(run, AUDIT_SET_FILE)))
      return { id, found: { file: preview, kind: 'audit-set', runId: id }, origin: 'app' };
    throw new GabnError('missing-file', `no report '${id.slice(0, 64)}' in the workspace`, {
      expected: 'the id of a listed report',
    });
  }

  function openedDataset(report: AuditReport): OpenDataset | undefined {
    const input = report.provenance.inputs.find((i) => i.role === 'dataset');
    if (input === undefined) return undefined;
    try {
      return datasets.register(input.path);
    } catch {
      return undefined;
    }
  }

  function openedCheckpoint(report: AuditReport): string | null {
    const input = report.provenance.inputs.find((i) => i.role === 'checkpoint');
    if (input === undefined) return null;
    try {
      return checkpoints.register(input.path).summary.id;
    } catch {
      return null;
    }
  }

  function imageRef(dataset: OpenDataset | undefined, relative: string): ImageRef | null {
    if (dataset === undefined) return null;
    let index = imageIndex.get(dataset);
    if (index === undefined) {
      index = new Map(dataset.dataset.images.map((image, i) => [image.relative, i]));
      imageIndex.set(dataset, index);
    }
    const i = index.get(relative);
    return i === undefined ? null : entryOf(dataset.dataset.images[i]!, i);
  }

  function worstPairsOf(
    report: AuditReport,
    dataset: OpenDataset | undefined,
  ): ReportView['worstPairs'][number] {
    if (!report.groups.some((g) => g.worstPairs !== undefined)) return null;
    const resolve = (pair: ResolvedPair['pair']): ResolvedPair => ({
      pair,
      a: imageRef(dataset, pair.imageA),
      b: imageRef(dataset, pair.imageB),
    });
    return report.groups.map((g) => ({
      group: g.name,
      falseMatches: (g.worstPairs?.falseMatches ?? []).map(resolve),
      falseNonMatches: (g.worstPairs?.falseNonMatches ?? []).map(resolve),
    }));
  }

  return {
    find,
    documentOf,
    list(): ReportSummary[] {
      return scan()
        .map((entry) => {
          try {
            return summaryOf(entry, documentOf(entry.found.file));
          } catch (error) {
            return {
              id: entry.id,
              origin: entry.origin,
              title: path.basename(entry.found.file),
              path: entry.found.file,
              createdAt: '',
              labels: [],
              groups: [],
              pairs: 0,
              comparisons: 0,
              problem: (error as Error).message,
            };
          }
        })
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.title.localeCompare(b.title));
    },
    open(id: string): ReportView {
      const entry = find(id);
      const doc = documentOf(entry.found.file);
      const dataset = openedDataset(doc.reports[0]!);
      return {
        ...summaryOf(entry, doc),
        reports: [...doc.reports],
        comparisonViews: doc.comparisons.map((report, k) => {
          const names = { a: doc.labels[0]!, b: doc.labels[k + 1] ?? path.basename(report.candidate.path) };
          return { against: names.a, candidate: names.b, report, verdict: comparisonVerdict(report, names) };
        }),
        attention: doc.attention.map((a) => (a === null ? null : a.map((f) => ({ ...f })))),
        ...(dataset ? { dataset: { id: dataset.summary.id, path: dataset.summary.path } } : {}),
        checkpointIds: doc.reports.map(openedCheckpoint),
        worstPairs: doc.reports.map((r) => worstPairsOf(r, dataset)),
        preliminary: doc.preliminary,
        noFaces: doc.noFaces,
      };
    },
  };
}

export type ReportRegistry = ReturnType<typeof createReportRegistry>;
