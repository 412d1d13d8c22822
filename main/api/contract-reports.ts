/**
 * The API's types for audits and reports (part of the contract: contract.ts re-exports them, and the
 * renderer reads them through it). Plain data only: the report model, the comparison sentences and
 * image entries as the Browse view knows them.
 */
import type { ComparisonVerdict } from '../report/comparison-verdict.ts';
import type { AuditReport, ComparisonReport, WorstPair } from '../report/report-model.ts';

export type { ComparisonVerdict } from '../report/comparison-verdict.ts';
export type { ComparisonReport, GroupReport, WorstPair } from '../report/report-model.ts';

/** The parameters of an 'audit' job: what `gabn audit` takes, with the run folder as the output. */
export interface AuditJobParams {
  /** Checkpoint folders audited on `data`: the first is A, every other is compared with it. */
  readonly checkpoints?: readonly string[];
  /** The verification set of the checkpoints: an RFW folder or a pairs CSV. */
  readonly data?: string;
  /** Scores CSV files instead of checkpoints (header group,same,score[,fold]). */
  readonly scores?: readonly string[];
  readonly scoreKind?: 'similarity' | 'distance';
  /** Add the mirror image's embedding (default true). */
  readonly flip?: boolean;
  /** Bootstrap resamples (default 1000; 0: no intervals, with one source only). */
  readonly bootstrap?: number;
  readonly seed?: number;
  /** Pooled target FMRs of the global thresholds (default 0.001 and 0.01). */
  readonly targetFmrs?: readonly number[];
  /** Images per group for the average attention maps (default 32; 0: none). */
  readonly attentionImages?: number;
  /** Leave every face image out: none is written into the run folder. */
  readonly noFaces?: boolean;
  /** Report files written into the run folder beside report.json and audit.json. */
  readonly formats?: readonly ('csv' | 'html' | 'pdf')[];
  /**
   * Embed in shards of at most this many images of one group each, every shard a job of its own
   * (on a queue, spread over its workers); the audit then runs once on their embeddings.
   */
  readonly imagesPerShard?: number;
  /** The shard runs whose embeddings the audit reads (set when the shards are queued, not by clients). */
  readonly shards?: readonly string[];
}

/** An 'audit-shard' job: one checkpoint's embeddings of one group's images `first`..`first+count-1`. */
export interface AuditShardJobParams {
  readonly checkpoint: string;
  readonly data: string;
  readonly group: string;
  /** Into the group's images, in the order the audit embeds them (usecases/audit/shards.ts). */
  readonly first: number;
  readonly count: number;
  readonly flip: boolean;
}

/** What an 'audit-shard' job produced: its embeddings are in its run folder's cache. */
export interface AuditShardResult {
  readonly images: number;
  readonly cached: number;
  readonly failed: number;
}

/** What an 'audit' job produced. */
export interface AuditJobResult {
  /** The report files in the run folder, relative to it. */
  readonly files: string[];
  readonly labels: string[];
}

/** Where a report came from: the app's audit job, `gabn audit --out`, or `gabn ablate`. */
export type ReportOrigin = 'app' | 'cli' | 'ablation';

export interface ReportSummary {
  readonly id: string;
  readonly origin: ReportOrigin;
  readonly title: string;
  /** The JSON file it was read from. */
  readonly path: string;
  /** ISO 8601: when the (first) report was made. */
  readonly createdAt: string;
  /** The audited checkpoints or score files, in order (the first is A of the comparisons). */
  readonly labels: string[];
  readonly groups: string[];
  readonly pairs: number;
  readonly comparisons: number;
  /** The run folder's id, for a report of the app's audit job (its files are served from there). */
  readonly jobId?: string;
  /** Why it cannot be read, when it cannot (it is listed all the same). */
  readonly problem?: string;
}

/** A worst pair of the report with both images as the dataset lists them (null: no longer there). */
export interface ResolvedPair {
  readonly pair: WorstPair;
  readonly a: ImageRef | null;
  readonly b: ImageRef | null;
}

/** An image of an opened dataset (the fields of the contract's ImageEntry). */
export interface ImageRef {
  readonly id: number;
  readonly relative: string;
  readonly identity: string;
  readonly group: string;
}

export interface ReportView extends ReportSummary {
  readonly reports: AuditReport[];
  /** Each further source (B) against the first (A), with what it found in sentences. */
  readonly comparisonViews: {
    readonly against: string;
    readonly candidate: string;
    readonly report: ComparisonReport;
    readonly verdict: ComparisonVerdict;
  }[];
  /** Per report, its groups' average face and attention map: files of the run folder (jobId). */
  readonly attention: (
    | { group: string; averageFace?: string; averageGam: string; averageGamOnGrey?: string }[]
    | null
  )[];
  /** The dataset of a checkpoint audit, opened so that its images can be shown and browsed. */
  readonly dataset?: { readonly id: string; readonly path: string };
  /** Per report: the audited checkpoint, opened (null for scores or a checkpoint no longer there). */
  readonly checkpointIds: (string | null)[];
  /** Per report, per group: the worst false matches and non-matches with their images. */
  readonly worstPairs: (
    | { group: string; falseMatches: ResolvedPair[]; falseNonMatches: ResolvedPair[] }[]
    | null
  )[];
  /** Point estimates only: the audit is still running its bootstrap. */
  readonly preliminary: boolean;
  /** Face images were left out when the audit ran. */
  readonly noFaces: boolean;
}

export type ReportFormat = 'html' | 'pdf' | 'json' | 'csv';

export interface ReportExportRequest {
  readonly reportId: string;
  readonly format: ReportFormat;
  /** Leave every face image out of the file. */
  readonly noFaces?: boolean;
}

/** A report rendered to a file's bytes, for a download or a save. */
export interface ReportFile {
  readonly fileName: string;
  readonly mime: string;
  readonly base64: string;
  readonly etag: string;
}
