/**
 * The audit as a use case that `gabn audit`, the app's audit job and the ablation call alike: from
 * sources (a scores CSV, or checkpoints on a dataset) to the report model — insightface's 10-fold
 * protocol per group, the paper's Avg/STD/SER, the figures beyond the paper with bootstrap
 * intervals, a paired bootstrap of every further source against the first on the same pairs (two
 * to compare, or several side by side like the paper's Table 4) — and its writers.
 */
import { GabnError } from '../../base/errors.ts';
import { softwareVersion } from '../../base/version.ts';
import { formatProblem } from '../../data/dataset.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { type AuditProtocol, DEFAULT_PROTOCOL, prepareAudit } from '../../eval/audit-figures.ts';
import {
  type BootstrapResult,
  bootstrapFigures,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  type PairedComparison,
  pairedBootstrap,
} from '../../eval/bootstrap.ts';
import type { ScoreKind } from '../../eval/score-kind.ts';
import { buildAuditReport, comparisonReport } from '../../report/audit-report.ts';
import type { HtmlOptions } from '../../report/html.ts';
import type { AuditReport, ComparisonReport, Provenance } from '../../report/report-model.ts';
import { type AttentionFigures, averageAttentionFigures } from './average-attention.ts';
import { longBootstrapEstimate } from './bootstrap-estimate.ts';
import { type AuditSource, checkpointSource, scoresSource } from './sources.ts';
import { hasVisualFormat, writerFor } from './writers.ts';

export interface AuditRequest {
  /** Scores CSV files: the one audited, and optionally a second on the same pairs to compare with. */
  readonly scores?: readonly string[];
  readonly scoreKind?: ScoreKind;
  /** Checkpoints audited on `data`: one, or more, each compared with the first. */
  readonly checkpoints?: readonly string[];
  /** The verification set of the checkpoints: an RFW folder or a pairs CSV. */
  readonly data?: string;
  /** Add the mirror image's embedding (default true, as insightface). */
  readonly flip?: boolean;
  /** The embedding cache (default: eval/embeddings.ts's); a sharded audit's holds its shards' embeddings. */
  readonly cacheDir?: string;
  /** Bootstrap resamples for the 95% intervals (default 1000; 0: none). */
  readonly bootstrap?: number;
  readonly seed?: number;
  /** Report files: .json, .csv, .html or .pdf. */
  readonly out: readonly string[];
  /** Leave every face image out of the reports. */
  readonly noFaces?: boolean;
  /** HTML/PDF of a checkpoint: images per group for the average attention maps (default 32; 0: none). */
  readonly attentionImages?: number;
  /** Pooled target FMRs that set the global thresholds (default 1e-3 and 1e-2). */
  readonly targetFmrs?: readonly number[];
  /**
   * Intervals, a report and average attention maps for every source, not only what the files need
   * (the app shows them all). JSON and CSV files still hold the first report.
   */
  readonly everySource?: boolean;
  /** The command as typed, for the report's provenance. */
  readonly commandLine: readonly string[];
}

/** Upper bound of resamples: 10^6 bootstrap replicates of an RFW-sized audit take hours already. */
export const MAX_RESAMPLES = 1_000_000;

/** Sources audited side by side at most (the paper's Table 4 has six rows). */
export const MAX_SOURCES = 8;

export interface AuditHooks {
  readonly signal?: AbortSignal;
  /** Progress of each phase in turn ('embedding synthetic-baseline.gabn', 'bootstrap', …). */
  readonly onProgress?: (phase: string, done: number, total: number) => void;
  readonly onLog?: (line: string) => void;
  /**
   * The point estimates of every source as soon as they are known, before any bootstrap (no
   * intervals yet), so that a person sees the first figures early.
   */
  readonly onPreview?: (preview: { reports: AuditReport[]; labels: string[] }) => void | Promise<void>;
}

export interface AuditOutcome {
  /**
   * The audited source's report (with the comparison of the second, when there is one), then the
   * others' when the files show them side by side or `everySource` asked for them.
   */
  readonly reports: AuditReport[];
  /** Each further source (B) against the first (A) on the same pairs, in source order. */
  readonly comparisons: ComparisonReport[];
  /** Per report: the average face and attention map of each group, when they were computed. */
  readonly attention: (AttentionFigures | undefined)[];
  readonly labels: string[];
  readonly files: readonly string[];
  /** Each source's name, the images that could not be read and the pairs left out because of them. */
  readonly sources: readonly Pick<AuditSource, 'label' | 'failed' | 'droppedPairs'>[];
}

/** Where a report on `source` comes from: this software, now, `commandLine`, the inputs, the backend. */
export function reportProvenance(source: AuditSource, commandLine: readonly string[]): Provenance {
  return {
    software: softwareVersion(),
    createdAt: new Date().toISOString(),
    commandLine,
    inputs: source.inputs,
    ...(source.backend ? { backend: source.backend } : {}),
  };
}

/** Everything the request asks, checked before any work starts. */
export function checkAuditRequest(request: AuditRequest): void {
  const scores = request.scores ?? [];
  const checkpoints = request.checkpoints ?? [];
  if (request.out.length === 0)
    throw new GabnError('usage', 'no report file given', {
      expected: '--out FILE.json, .csv, .html or .pdf',
    });
  for (const file of request.out) writerFor(file);
  if (scores.length > 0 && checkpoints.length > 0)
    throw new GabnError('usage', '--scores and --checkpoint exclude each other');
  if (scores.length === 0 && checkpoints.length === 0) {
    throw new GabnError('usage', 'nothing to audit', {
      expected: '--checkpoint C --data DIR, or --scores FILE.csv',
    });
  }
  if (checkpoints.length > 0 && request.data === undefined)
    throw new GabnError('usage', '--checkpoint needs --data (an RFW folder or a pairs CSV)');
  const sources = Math.max(scores.length, checkpoints.length);
  if (sources > MAX_SOURCES)
    throw new GabnError('usage', `${sources} sources given`, {
      expected: `one, or up to ${MAX_SOURCES} compared with the first`,
    });
  const resamples = request.bootstrap ?? DEFAULT_RESAMPLES;
  if (!(Number.isInteger(resamples) && resamples >= 0 && resamples <= MAX_RESAMPLES)) {
    throw new GabnError('usage', `--bootstrap ${resamples} is out of range`, {
      expected: `a whole number in [0, ${MAX_RESAMPLES}]`,
    });
  }
  if (sources >= 2 && resamples === 0) {
    throw new GabnError('usage', 'comparing two score sets needs bootstrap resamples', {
      expected: '--bootstrap N with N >= 1',
    });
  }
  if (!Number.isInteger(request.seed ?? DEFAULT_SEED))
    throw new GabnError('usage', `--seed must be an integer, got ${request.seed}`);
  const fmrs = request.targetFmrs ?? DEFAULT_PROTOCOL.targetFmrs;
  if (fmrs.length < 1 || fmrs.length > 6 || fmrs.some((f) => !(Number.isFinite(f) && f > 0 && f < 1))) {
    throw new GabnError('usage', `target FMRs ${fmrs.join(', ') || '(none)'}`, {
      expected: 'one to six rates between 0 and 1, e.g. 0.001',
    });
  }
  const images = request.attentionImages ?? 32;
  if (!(Number.isInteger(images) && images >= 0 && images <= 10_000))
    throw new GabnError('usage', `--attention-images ${images} is out of range`, {
      expected: 'a whole number in [0, 10000]',
    });
}

async function loadSources(request: AuditRequest, hooks: AuditHooks): Promise<AuditSource[]> {
  if ((request.scores ?? []).length > 0) {
    const sources: AuditSource[] = [];
    for (const file of request.scores!) sources.push(await scoresSource(file, request.scoreKind));
    return sources;
  }
  const dataset = loadDataset(request.data!);
  // What the dataset holds that is not wrong enough to refuse it (a pair listed twice) is said.
  for (const problem of dataset.problems) hooks.onLog?.(formatProblem(problem));
  const sources: AuditSource[] = [];
  for (const checkpoint of request.checkpoints!) {
    const phase = `embedding with ${checkpoint.split(/[\\/]/).pop()}`;
    sources.push(
      await checkpointSource(checkpoint, dataset, {
        flip: request.flip ?? true,
        ...(request.cacheDir === undefined ? {} : { cacheDir: request.cacheDir }),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
        onProgress: (done, total) => hooks.onProgress?.(phase, done, total),
      }),
    );
  }
  return sources;
}

function bootstrapHooks(hooks: AuditHooks, phase: string) {
  return {
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    onProgress: (done: number, total: number) => hooks.onProgress?.(phase, done, total),
  };
}

/** The phase names of a source after the first: "bootstrap (second)", "bootstrap (synthetic-gabn.gabn)". */
function phaseOf(phase: string, k: number, label: string): string {
  return k === 0 ? phase : k === 1 ? `${phase} (second)` : `${phase} (${label})`;
}

export async function runAudit(request: AuditRequest, hooks: AuditHooks = {}): Promise<AuditOutcome> {
  checkAuditRequest(request);
  const resamples = request.bootstrap ?? DEFAULT_RESAMPLES;
  const seed = request.seed ?? DEFAULT_SEED;
  const protocol: AuditProtocol = {
    ...DEFAULT_PROTOCOL,
    targetFmrs: request.targetFmrs ?? DEFAULT_PROTOCOL.targetFmrs,
  };
  const sources = await loadSources(request, hooks);
  const labels = sources.map((s) => s.label);
  const audits = sources.map((s, k) => {
    const audit = prepareAudit(s.groups, protocol);
    hooks.onProgress?.('pairs', k + 1, sources.length);
    return audit;
  });
  const visual = hasVisualFormat(request.out);
  const every = request.everySource === true;
  const provenanceOf = (k: number): Provenance => reportProvenance(sources[k]!, request.commandLine);
  const reportOf = (k: number, bootstrap: BootstrapResult | null, comparison: ComparisonReport | null) =>
    buildAuditReport({
      audit: audits[k]!,
      bootstrap,
      explicitFolds: sources[k]!.explicitFolds,
      comparisonReport: comparison,
      provenance: provenanceOf(k),
    });
  if (hooks.onPreview)
    await hooks.onPreview({ reports: audits.map((_, k) => reportOf(k, null, null)), labels });
  // Said before it starts: a bootstrap of hours is a choice a person makes knowingly. Each source's
  // own intervals are one evaluation a resample, each paired comparison two.
  const evaluations = (visual || every ? audits.length : 1) + 2 * (audits.length - 1);
  const estimate = longBootstrapEstimate(audits[0]!, resamples, evaluations);
  if (estimate !== undefined) hooks.onLog?.(estimate.message);
  const bootstraps: (BootstrapResult | null)[] = [];
  // The other sources' own intervals are needed only for the side-by-side table (or the app).
  for (const [k, audit] of audits.entries()) {
    const wanted = resamples > 0 && (k === 0 || visual || every);
    bootstraps.push(
      wanted
        ? await bootstrapFigures(audit, {
            resamples,
            seed,
            ...bootstrapHooks(hooks, phaseOf('bootstrap', k, labels[k]!)),
          })
        : null,
    );
  }
  const comparisons: ComparisonReport[] = [];
  for (let k = 1; k < audits.length; k++) {
    const result: PairedComparison = await pairedBootstrap(audits[0]!, audits[k]!, {
      resamples,
      seed,
      ...bootstrapHooks(hooks, k === 1 ? 'paired bootstrap' : `paired bootstrap (${labels[k]})`),
    });
    comparisons.push(comparisonReport({ result, candidate: sources[k]!.inputs[0]! })!);
  }
  const reports = [reportOf(0, bootstraps[0]!, comparisons[0] ?? null)];
  if (visual || every)
    for (let k = 1; k < audits.length; k++) reports.push(reportOf(k, bootstraps[k] ?? null, null));
  if (hooks.signal?.aborted) throw new GabnError('cancelled', 'audit cancelled; no report written');
  const noFaces = request.noFaces === true;
  const perGroup = request.attentionImages ?? 32;
  const attention: (AttentionFigures | undefined)[] = reports.map(() => undefined);
  const checkpoints = request.checkpoints ?? [];
  if ((visual || every) && checkpoints.length > 0 && perGroup > 0) {
    const dataset = loadDataset(request.data!);
    for (let k = 0; k < (every ? reports.length : 1); k++) {
      attention[k] = await averageAttentionFigures(checkpoints[k]!, dataset, perGroup, noFaces, {
        ...(hooks.signal ? { signal: hooks.signal } : {}),
        onProgress: (done, total) =>
          hooks.onProgress?.(phaseOf('attention maps', k, labels[k]!), done, total),
      });
    }
  }
  const htmlOptions: HtmlOptions = {
    noFaces,
    labels,
    comparisons,
    ...(attention[0] === undefined ? {} : { attention: attention[0] }),
  };
  for (const file of request.out) await writerFor(file)(file, reports, htmlOptions);
  return {
    reports,
    comparisons,
    attention,
    labels,
    files: request.out,
    sources: sources.map(({ label, failed, droppedPairs }) => ({ label, failed, droppedPairs })),
  };
}
