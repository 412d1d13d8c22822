/**
 * The audit as a use case that `gabn audit`, the app's audit job and the ablation call alike: from
 * sources (a scores CSV, or checkpoints on a dataset) to the report model — insightface's 10-fold
 * protocol per group, the paper's Avg/STD/SER, the figures beyond the paper with bootstrap
 * intervals, a paired bootstrap when a second source is given — and its writers.
 */
import { GabnError } from '../../base/errors.ts';
import { softwareVersion } from '../../base/version.ts';
import { formatProblem } from '../../data/dataset.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { DEFAULT_PROTOCOL, prepareAudit } from '../../eval/audit-figures.ts';
import {
  type BootstrapResult,
  bootstrapFigures,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  type PairedComparison,
  pairedBootstrap,
} from '../../eval/bootstrap.ts';
import type { ScoreKind } from '../../eval/score-kind.ts';
import { buildAuditReport } from '../../report/audit-report.ts';
import type { HtmlOptions } from '../../report/html.ts';
import type { AuditReport, InputFile, Provenance } from '../../report/report-model.ts';
import { averageAttentionFigures } from './average-attention.ts';
import { longBootstrapEstimate } from './bootstrap-estimate.ts';
import { type AuditSource, checkpointSource, scoresSource } from './sources.ts';
import { hasVisualFormat, writerFor } from './writers.ts';

export interface AuditRequest {
  /** Scores CSV files: the one audited, and optionally a second on the same pairs to compare with. */
  readonly scores?: readonly string[];
  readonly scoreKind?: ScoreKind;
  /** Checkpoints audited on `data`: one, or a second to compare with the first. */
  readonly checkpoints?: readonly string[];
  /** The verification set of the checkpoints: an RFW folder or a pairs CSV. */
  readonly data?: string;
  /** Add the mirror image's embedding (default true, as insightface). */
  readonly flip?: boolean;
  /** Bootstrap resamples for the 95% intervals (default 1000; 0: none). */
  readonly bootstrap?: number;
  readonly seed?: number;
  /** Report files: .json, .csv, .html or .pdf. */
  readonly out: readonly string[];
  /** Leave every face image out of the reports. */
  readonly noFaces?: boolean;
  /** HTML/PDF of a checkpoint: images per group for the average attention maps (default 32; 0: none). */
  readonly attentionImages?: number;
  /** The command as typed, for the report's provenance. */
  readonly commandLine: readonly string[];
}

/** Upper bound of resamples: 10^6 bootstrap replicates of an RFW-sized audit take hours already. */
export const MAX_RESAMPLES = 1_000_000;

export interface AuditHooks {
  readonly signal?: AbortSignal;
  /** Progress of each phase in turn ('embedding synthetic-baseline.gabn', 'bootstrap', …). */
  readonly onProgress?: (phase: string, done: number, total: number) => void;
  readonly onLog?: (line: string) => void;
}

export interface AuditOutcome {
  /** The audited source's report (with the comparison, when there is one), then the second's. */
  readonly reports: AuditReport[];
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
  if (sources > 2)
    throw new GabnError('usage', `${sources} sources given`, { expected: 'one, or two to compare' });
  const resamples = request.bootstrap ?? DEFAULT_RESAMPLES;
  if (!(Number.isInteger(resamples) && resamples >= 0 && resamples <= MAX_RESAMPLES)) {
    throw new GabnError('usage', `--bootstrap ${resamples} is out of range`, {
      expected: `a whole number in [0, ${MAX_RESAMPLES}]`,
    });
  }
  if (sources === 2 && resamples === 0) {
    throw new GabnError('usage', 'comparing two score sets needs bootstrap resamples', {
      expected: '--bootstrap N with N >= 1',
    });
  }
  if (!Number.isInteger(request.seed ?? DEFAULT_SEED))
    throw new GabnError('usage', `--seed must be an integer, got ${request.seed}`);
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

export async function runAudit(request: AuditRequest, hooks: AuditHooks = {}): Promise<AuditOutcome> {
  checkAuditRequest(request);
  const resamples = request.bootstrap ?? DEFAULT_RESAMPLES;
  const seed = request.seed ?? DEFAULT_SEED;
  const sources = await loadSources(request, hooks);
  const audits = sources.map((s) => prepareAudit(s.groups, DEFAULT_PROTOCOL));
  const visual = hasVisualFormat(request.out);
  // Said before it starts: a bootstrap of hours is a choice a person makes knowingly.
  const evaluations = (visual ? audits.length : 1) + (audits.length === 2 ? 2 : 0);
  const estimate = longBootstrapEstimate(audits[0]!, resamples, evaluations);
  if (estimate !== undefined) hooks.onLog?.(estimate.message);
  const bootstraps: (BootstrapResult | null)[] = [];
  // The second source's own intervals are needed only for the side-by-side table.
  for (const [k, audit] of audits.entries()) {
    const wanted = resamples > 0 && (k === 0 || visual);
    const phase = k === 0 ? 'bootstrap' : 'bootstrap (second)';
    bootstraps.push(
      wanted ? await bootstrapFigures(audit, { resamples, seed, ...bootstrapHooks(hooks, phase) }) : null,
    );
  }
  let comparison: { result: PairedComparison; candidate: InputFile } | null = null;
  if (audits.length === 2) {
    const result = await pairedBootstrap(audits[0]!, audits[1]!, {
      resamples,
      seed,
      ...bootstrapHooks(hooks, 'paired bootstrap'),
    });
    comparison = { result, candidate: sources[1]!.inputs[0]! };
  }
  const first = buildAuditReport({
    audit: audits[0]!,
    bootstrap: bootstraps[0]!,
    explicitFolds: sources[0]!.explicitFolds,
    comparison,
    provenance: reportProvenance(sources[0]!, request.commandLine),
  });
  const reports = [first];
  if (audits.length === 2 && visual) {
    reports.push(
      buildAuditReport({
        audit: audits[1]!,
        bootstrap: bootstraps[1] ?? null,
        explicitFolds: sources[1]!.explicitFolds,
        provenance: { ...first.provenance, inputs: sources[1]!.inputs },
      }),
    );
  }
  if (hooks.signal?.aborted) throw new GabnError('cancelled', 'audit cancelled; no report written');
  const noFaces = request.noFaces === true;
  const perGroup = request.attentionImages ?? 32;
  const checkpoint = request.checkpoints?.[0];
  const htmlOptions: HtmlOptions = {
    noFaces,
    labels: sources.map((s) => s.label),
    ...(visual && checkpoint !== undefined && perGroup > 0
      ? {
          attention: await averageAttentionFigures(
            checkpoint,
            loadDataset(request.data!),
            perGroup,
            noFaces,
            {
              ...(hooks.signal ? { signal: hooks.signal } : {}),
              onProgress: (done, total) => hooks.onProgress?.('attention maps', done, total),
            },
          ),
        }
      : {}),
  };
  for (const file of request.out) await writerFor(file)(file, reports, htmlOptions);
  return {
    reports,
    files: request.out,
    sources: sources.map(({ label, failed, droppedPairs }) => ({ label, failed, droppedPairs })),
  };
}
