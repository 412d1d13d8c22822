/**
 * Assembles the report model from the audit figures, the bootstrap replicates and the curves. Pure:
 * the caller supplies the provenance (hashes, command line, date), so the same inputs give the same
 * report.
 */

import { finiteOrNull } from '../base/json.ts';
import {
  type AuditFigures,
  computeFigures,
  figureNames,
  type PreparedAudit,
  type PreparedGroup,
} from '../eval/audit-figures.ts';
import type { BootstrapResult, PairedComparison, PairedDifference } from '../eval/bootstrap.ts';
import { rocCurve } from '../eval/roc.ts';
import { verify } from '../eval/verification.ts';
import {
  type AuditReport,
  type ComparisonReport,
  type Estimate,
  type GroupReport,
  type InputFile,
  jsonInterval,
  type PairedDifferenceReport,
  type ProtocolDescription,
  type Provenance,
  REPORT_SCHEMA_VERSION,
  toEstimate,
  type WorstPair,
} from './report-model.ts';

export interface AuditReportInput {
  readonly audit: PreparedAudit;
  readonly bootstrap: BootstrapResult | null;
  readonly provenance: Provenance;
  /** Whether the folds came with the pairs (RFW pairs files, a fold column) or from KFold. */
  readonly explicitFolds: boolean;
  /** Points kept on each ROC/DET curve. */
  readonly rocPoints?: number;
  /** A paired bootstrap of a second score set on the same pairs, and that set's input file. */
  readonly comparison?: { readonly result: PairedComparison; readonly candidate: InputFile } | null;
  /** The same, already made into its report form (comparisonReport). */
  readonly comparisonReport?: ComparisonReport | null;
}

function pairedDifference(d: PairedDifference): PairedDifferenceReport {
  return {
    observed: finiteOrNull(d.observed),
    interval: jsonInterval(d.interval),
    pValue: d.pValue,
    fairer: d.pValue < 0.05,
  };
}

export function comparisonReport(input: AuditReportInput['comparison']): ComparisonReport | null {
  if (input === undefined || input === null) return null;
  const { result, candidate } = input;
  return {
    candidate,
    resamples: result.resamples,
    seed: result.seed,
    confidence: result.confidence,
    std: pairedDifference(result.std),
    ser: pairedDifference(result.ser),
    average: {
      observed: finiteOrNull(result.average.observed),
      interval: jsonInterval(result.average.interval),
    },
    groups: result.groups.map((g) => ({
      name: g.name,
      observed: finiteOrNull(g.observed),
      interval: jsonInterval(g.interval),
    })),
  };
}

/** Wrong pairs listed per kind of error in the report. */
export const WORST_PAIRS = 5;

/**
 * The false matches and false non-matches of a group under the thresholds the protocol chose for
 * each fold, the farthest from their threshold first.
 */
export function worstPairs(
  group: PreparedGroup,
  foldThresholds: ArrayLike<number>,
  count = WORST_PAIRS,
): NonNullable<GroupReport['worstPairs']> | undefined {
  const images = group.images;
  if (images === undefined) return undefined;
  const matches: { margin: number; pair: WorstPair }[] = [];
  const nonMatches: { margin: number; pair: WorstPair }[] = [];
  for (let i = 0; i < group.distances.length; i++) {
    const fold = group.folds[i]!;
    const threshold = foldThresholds[fold]!;
    const distance = group.distances[i]!;
    const pair = { imageA: images[i]!.a, imageB: images[i]!.b, distance, threshold, fold };
    if (!group.same[i] && distance < threshold) matches.push({ margin: threshold - distance, pair });
    else if (group.same[i] && !(distance < threshold))
      nonMatches.push({ margin: distance - threshold, pair });
  }
  const worst = (list: { margin: number; pair: WorstPair }[]) =>
    list
      .sort((x, y) => y.margin - x.margin)
      .slice(0, count)
      .map((x) => x.pair);
  return { falseMatches: worst(matches), falseNonMatches: worst(nonMatches) };
}

/**
 * Genuine and impostor counts in `bins` equal bins from 0 to a round number just above the largest
 * distance (at most 4, the range of squared distances of unit vectors), so that networks whose
 * distances all lie near 0 still get readable distributions.
 */
export function scoreHistogram(distances: Float64Array, same: Uint8Array, bins: number) {
  let largest = 0;
  for (const d of distances) if (Number.isFinite(d)) largest = Math.max(largest, d);
  const unit = 10 ** Math.floor(Math.log10(Math.max(largest, 1e-6)));
  const top = Math.min(4, Math.ceil((largest * 1.0001) / unit) * unit || 4);
  const width = top / bins;
  const genuine = new Array<number>(bins).fill(0);
  const impostor = new Array<number>(bins).fill(0);
  distances.forEach((d, i) => {
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(d / width)));
    if (same[i]) genuine[bin]!++;
    else impostor[bin]!++;
  });
  return { binEdges: Array.from({ length: bins + 1 }, (_, k) => k * width), genuine, impostor };
}

export function buildAuditReport(input: AuditReportInput): AuditReport {
  const { audit, bootstrap } = input;
  const figures: AuditFigures = computeFigures(audit);
  const names = figureNames(audit);
  const slot = new Map(names.map((n, k) => [n, k]));
  const estimate = (name: string, value: number): Estimate => {
    const k = slot.get(name);
    if (k === undefined) throw new Error(`no figure named ${name}`);
    return toEstimate(value, bootstrap === null ? null : bootstrap.intervals[k]!);
  };
  const { protocol } = audit;
  const thresholds = Array.from(protocol.thresholds);
  const step = thresholds.length > 1 ? thresholds[1]! - thresholds[0]! : 0;
  const protocolDescription: ProtocolDescription = {
    verification: {
      distance: 'squared-euclidean-of-l2-normalised',
      thresholds: {
        start: thresholds[0] ?? 0,
        stop: (thresholds[0] ?? 0) + step * thresholds.length,
        step,
        count: thresholds.length,
      },
      decision: 'distance < threshold',
      folds: input.explicitFolds ? 'explicit' : 'kfold',
      foldSelection: 'best training accuracy on the other folds, first of equal maxima',
    },
    fairness: { std: 'sample', ser: 'max error / min error' },
    targetFmrs: [...protocol.targetFmrs],
    tarFars: [...protocol.tarFars],
    alpha: protocol.alpha,
    bootstrap:
      bootstrap === null
        ? null
        : {
            resamples: bootstrap.resamples,
            seed: bootstrap.seed,
            confidence: bootstrap.confidence,
            scheme: 'stratified by group, fold and genuine/impostor, with replacement',
            interval: 'percentile, linear interpolation',
          },
  };
  const groups = audit.groups.map((g, k) => {
    const f = figures.groups[k]!;
    const protocolRun = verify({ distances: g.distances, same: g.same, folds: g.folds }, protocol.thresholds);
    const foldPairs = new Int32Array(g.foldCount);
    for (const fold of g.folds) foldPairs[fold]!++;
    const foldThresholds = Array.from(f.foldThresholdIndices, (t) => protocol.thresholds[t]!);
    const worst = worstPairs(g, foldThresholds);
    return {
      name: g.name,
      pairs: g.distances.length,
      positives: g.positives,
      negatives: g.negatives,
      accuracy: estimate(`group.${g.name}.accuracy`, 100 * f.accuracy),
      folds: Array.from(f.foldAccuracies, (accuracy, fold) => ({
        index: fold,
        pairs: foldPairs[fold]!,
        accuracy: 100 * accuracy,
        threshold: foldThresholds[fold]!,
      })),
      operatingPoints: figures.operatingPoints.map((op) => ({
        targetFmr: op.targetFmr,
        fmr: estimate(`fmr=${op.targetFmr}.group.${g.name}.fmr`, op.fmr[k]!),
        fnmr: estimate(`fmr=${op.targetFmr}.group.${g.name}.fnmr`, op.fnmr[k]!),
      })),
      tarAtFar: f.tarAtFar.map((t) => ({
        far: t.far,
        tar: estimate(`group.${g.name}.tar@far=${t.far}`, t.tar),
        threshold: finiteOrNull(t.threshold),
        achievedFar: t.achievedFar,
      })),
      roc: rocCurve(g.distances, g.same, input.rocPoints ?? 200),
      scoreHistogram: scoreHistogram(g.distances, g.same, 40),
      foldAveragedRoc: { thresholds, tpr: Array.from(protocolRun.tpr), fpr: Array.from(protocolRun.fpr) },
      ...(worst === undefined ? {} : { worstPairs: worst }),
    };
  });
  const overall = {
    average: estimate('avg', figures.paper.average),
    std: estimate('std', figures.paper.std),
    ser: estimate('ser', figures.paper.ser),
    operatingPoints: figures.operatingPoints.map((op) => {
      const at = (name: string, value: number) => estimate(`fmr=${op.targetFmr}.${name}`, value);
      return {
        targetFmr: op.targetFmr,
        threshold: at('threshold', op.threshold),
        pooledFmr: op.pooledFmr,
        fdr: at('fdr', op.fdr),
        garbe: at('garbe', op.garbe),
        giniFmr: at('giniFmr', op.giniFmr),
        giniFnmr: at('giniFnmr', op.giniFnmr),
        fmrRatio: at('fmrRatio', op.fmrRatio),
        fnmrRatio: at('fnmrRatio', op.fnmrRatio),
      };
    }),
  };
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    kind: 'gabn-fairness-audit',
    provenance: input.provenance,
    protocol: protocolDescription,
    groups,
    overall,
    comparison: input.comparisonReport ?? comparisonReport(input.comparison),
  };
}
