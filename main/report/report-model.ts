/**
 * The fairness report model, version 1: one JSON document that every renderer (JSON, CSV, HTML, PDF)
 * reads, and nothing renderer-specific in it. docs/metrics.md documents every field.
 *
 * Units: accuracies, Avg and STD in percent (as the paper prints them); FMR, FNMR, TAR, FAR as
 * fractions; thresholds as squared Euclidean distances (2 − 2·cosine). JSON has no Infinity: a
 * figure that is infinite (a max/min ratio or SER whose best group made no error, a threshold at a
 * target FMR of 1) is written as null.
 */
import { finiteOrNull } from '../base/json.ts';
import type { Interval } from '../base/statistics.ts';
import type { ScoreKind } from '../eval/score-kind.ts';

export const REPORT_SCHEMA_VERSION = 1;

/** A figure with its bootstrap interval. */
export interface Estimate {
  /** null when the figure is infinite. */
  readonly value: number | null;
  /** null when no bootstrap was run; an endpoint is null when infinite. */
  readonly interval: JsonInterval | null;
}

/** An interval as JSON holds it: an infinite endpoint is null. */
export interface JsonInterval {
  readonly lower: number | null;
  readonly upper: number | null;
}

export function jsonInterval(interval: Interval): JsonInterval {
  return { lower: finiteOrNull(interval.lower), upper: finiteOrNull(interval.upper) };
}

/** A figure and its interval (null: none was computed) as the report holds them. */
export function toEstimate(value: number, interval: Interval | null): Estimate {
  return { value: finiteOrNull(value), interval: interval === null ? null : jsonInterval(interval) };
}

export interface InputFile {
  readonly role: 'scores' | 'checkpoint' | 'dataset';
  readonly path: string;
  readonly sha256: string;
  readonly scoreKind?: ScoreKind;
}

export interface Provenance {
  readonly software: { readonly name: string; readonly version: string };
  /** ISO 8601, UTC. */
  readonly createdAt: string;
  /** The command as typed, e.g. ["gabn", "audit", "--scores", "s.csv", ...]. */
  readonly commandLine: readonly string[];
  readonly inputs: readonly InputFile[];
  /** The compute backend that embedded the faces (checkpoint audits only; added within version 1). */
  readonly backend?: string;
}

export interface ProtocolDescription {
  readonly verification: {
    readonly distance: 'squared-euclidean-of-l2-normalised';
    /** np.arange(start, stop, step): `count` thresholds start + i·step. */
    readonly thresholds: {
      readonly start: number;
      readonly stop: number;
      readonly step: number;
      readonly count: number;
    };
    /** A pair is declared "same" when distance < threshold. */
    readonly decision: 'distance < threshold';
    /** 'kfold': 10 contiguous folds in input order per group; 'explicit': folds given with the pairs. */
    readonly folds: 'kfold' | 'explicit';
    readonly foldSelection: 'best training accuracy on the other folds, first of equal maxima';
  };
  readonly fairness: { readonly std: 'sample'; readonly ser: 'max error / min error' };
  readonly targetFmrs: readonly number[];
  readonly tarFars: readonly number[];
  /** Weight of the FMR term in FDR and GARBE. */
  readonly alpha: number;
  readonly bootstrap: {
    readonly resamples: number;
    readonly seed: number;
    readonly confidence: number;
    readonly scheme: 'stratified by group, fold and genuine/impostor, with replacement';
    readonly interval: 'percentile, linear interpolation';
  } | null;
}

export interface FoldReport {
  readonly index: number;
  readonly pairs: number;
  /** Held-out accuracy, percent. */
  readonly accuracy: number;
  /** The threshold chosen on the other folds. */
  readonly threshold: number;
}

export interface GroupOperatingPoint {
  readonly targetFmr: number;
  readonly fmr: Estimate;
  readonly fnmr: Estimate;
}

export interface GroupTarAtFar {
  readonly far: number;
  readonly tar: Estimate;
  /** The group's own threshold (null when infinite). */
  readonly threshold: number | null;
  readonly achievedFar: number;
}

export interface CurvePoints {
  readonly thresholds: readonly number[];
  readonly fmr: readonly number[];
  readonly fnmr: readonly number[];
  readonly tar: readonly number[];
}

/**
 * A verification pair the 10-fold protocol decided wrongly: an impostor pair closer than its fold's
 * threshold (a false match) or a genuine pair at or beyond it (a false non-match). Added in schema
 * version 1 without changing any other field.
 */
export interface WorstPair {
  /** The two image files, relative to the dataset's root. */
  readonly imageA: string;
  readonly imageB: string;
  readonly distance: number;
  /** The threshold the protocol applied to the pair's fold (chosen on the other folds). */
  readonly threshold: number;
  readonly fold: number;
}

export interface GroupReport {
  readonly name: string;
  readonly pairs: number;
  readonly positives: number;
  readonly negatives: number;
  /** 10-fold verification accuracy, percent. */
  readonly accuracy: Estimate;
  readonly folds: readonly FoldReport[];
  /** FMR and FNMR at each global threshold. */
  readonly operatingPoints: readonly GroupOperatingPoint[];
  readonly tarAtFar: readonly GroupTarAtFar[];
  /** ROC/DET points (about 200), thresholds ascending. */
  readonly roc: CurvePoints;
  /**
   * Genuine and impostor pairs counted in equal bins of distance from 0 to a round number above the
   * largest distance (at most 4, the range of squared distances of unit vectors): the score
   * distributions of the HTML report. Added in schema version 1 without changing any other field.
   */
  readonly scoreHistogram: {
    readonly binEdges: readonly number[];
    readonly genuine: readonly number[];
    readonly impostor: readonly number[];
  };
  /** insightface's TPR/FPR per protocol threshold, averaged over the held-out folds. */
  readonly foldAveragedRoc: {
    readonly thresholds: readonly number[];
    readonly tpr: readonly number[];
    readonly fpr: readonly number[];
  };
  /**
   * The pairs decided most wrongly, farthest from their fold's threshold first (at most 5 of each),
   * when the pairs came from a dataset (a checkpoint audit; a scores CSV names no images).
   */
  readonly worstPairs?: {
    readonly falseMatches: readonly WorstPair[];
    readonly falseNonMatches: readonly WorstPair[];
  };
}

export interface OverallOperatingPoint {
  readonly targetFmr: number;
  /** The global threshold set on the pooled impostors of all groups. */
  readonly threshold: Estimate;
  readonly pooledFmr: number;
  readonly fdr: Estimate;
  readonly garbe: Estimate;
  readonly giniFmr: Estimate;
  readonly giniFnmr: Estimate;
  readonly fmrRatio: Estimate;
  readonly fnmrRatio: Estimate;
}

export interface OverallReport {
  /** Avg of the group accuracies, percent. */
  readonly average: Estimate;
  /** Sample standard deviation of the group accuracies, percentage points. */
  readonly std: Estimate;
  /** Skewed error ratio. */
  readonly ser: Estimate;
  readonly operatingPoints: readonly OverallOperatingPoint[];
}

/** A paired difference B − A with its interval and the one-sided p-value for "B is fairer". */
export interface PairedDifferenceReport {
  readonly observed: number | null;
  readonly interval: { readonly lower: number | null; readonly upper: number | null };
  readonly pValue: number;
  /** pValue < 0.05. */
  readonly fairer: boolean;
}

/** Paired bootstrap of a second score set (B) on the same pairs against the audited one (A). */
export interface ComparisonReport {
  readonly candidate: InputFile;
  readonly resamples: number;
  readonly seed: number;
  readonly confidence: number;
  readonly std: PairedDifferenceReport;
  readonly ser: PairedDifferenceReport;
  readonly average: {
    readonly observed: number | null;
    readonly interval: { readonly lower: number | null; readonly upper: number | null };
  };
  /** Each group's accuracy of B − A in percentage points (added in schema version 1). */
  readonly groups?: readonly {
    readonly name: string;
    readonly observed: number | null;
    readonly interval: JsonInterval;
  }[];
}

export interface AuditReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly kind: 'gabn-fairness-audit';
  readonly provenance: Provenance;
  readonly protocol: ProtocolDescription;
  readonly groups: readonly GroupReport[];
  readonly overall: OverallReport;
  /** Present when a second score set was compared on the same pairs (paired bootstrap). */
  readonly comparison: ComparisonReport | null;
}
