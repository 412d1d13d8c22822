/**
 * Every number of a fairness audit, computed from per-group pair distances in one pass that can be
 * repeated cheaply: the expensive preparation (threshold bins, sorted impostor orders) is done once
 * in `prepareAudit`, and `computeFigures` takes an optional weight per pair (its multiplicity in a
 * bootstrap resample), so the point estimates and every bootstrap replicate run the same code.
 */
import { GabnError } from '../base/errors.ts';
import { maxMinRatio } from './disparity-ratios.ts';
import { type PaperFairness, paperFairness } from './fairness.ts';
import { fairnessDiscrepancyRate } from './fdr.ts';
import { garbe, giniCoefficient } from './garbe.ts';
import { errorRatesAt, impostorOrder, thresholdAtFmr } from './operating-point.ts';
import { type TarAtFar, tarAtFar } from './roc.ts';
import {
  binCounts,
  foldAccuracies,
  foldCount,
  INSIGHTFACE_THRESHOLDS,
  numpySum,
  resolveFolds,
  thresholdBins,
} from './verification.ts';

export interface GroupPairs {
  readonly name: string;
  /** Squared Euclidean distances of normalised embeddings (2 − 2·cosine). */
  readonly distances: Float64Array;
  readonly same: Uint8Array;
  /** Fold 0..K-1 of each pair; absent: 10 contiguous folds in the given order (KFold). */
  readonly folds?: Int32Array;
  /** The two image files of each pair (relative to the dataset), when the pairs come from a dataset. */
  readonly images?: readonly PairImages[];
}

export interface PairImages {
  readonly a: string;
  readonly b: string;
}

export interface AuditProtocol {
  /** Pooled target FMRs that set the global thresholds. */
  readonly targetFmrs: readonly number[];
  /** FARs at which each group's TAR is read (its own threshold). */
  readonly tarFars: readonly number[];
  /** Weight of the FMR term in FDR and GARBE. */
  readonly alpha: number;
  /** Candidate thresholds of the 10-fold protocol. */
  readonly thresholds: Float64Array;
}

export const DEFAULT_PROTOCOL: AuditProtocol = {
  targetFmrs: [1e-3, 1e-2],
  tarFars: [1e-3, 1e-2, 1e-1],
  alpha: 0.5,
  thresholds: INSIGHTFACE_THRESHOLDS,
};

export interface PreparedGroup {
  readonly name: string;
  readonly distances: Float64Array;
  readonly same: Uint8Array;
  readonly folds: Int32Array;
  readonly foldCount: number;
  readonly bins: Uint16Array;
  readonly impostorOrder: Int32Array;
  readonly positives: number;
  readonly negatives: number;
  /** Position of the group's first pair in the concatenation of all groups. */
  readonly offset: number;
  readonly images?: readonly PairImages[];
}

export interface PreparedAudit {
  readonly protocol: AuditProtocol;
  readonly groups: readonly PreparedGroup[];
  /** All groups' distances, concatenated in group order. */
  readonly allDistances: Float64Array;
  /** Every impostor pair of every group, as indices into allDistances, sorted by distance. */
  readonly pooledImpostorOrder: Int32Array;
  readonly pairCount: number;
}

export function prepareAudit(
  groups: readonly GroupPairs[],
  protocol: AuditProtocol = DEFAULT_PROTOCOL,
): PreparedAudit {
  if (groups.length < 2) {
    throw new GabnError('dataset', `a fairness audit needs at least 2 groups, got ${groups.length}`);
  }
  const names = new Set<string>();
  let offset = 0;
  const prepared: PreparedGroup[] = groups.map((g) => {
    if (names.has(g.name)) throw new GabnError('internal', `group '${g.name}' is given twice`);
    names.add(g.name);
    if (g.images !== undefined && g.images.length !== g.distances.length)
      throw new GabnError(
        'internal',
        `group '${g.name}': ${g.images.length} image pairs for ${g.distances.length} distances`,
      );
    const folds = resolveFolds(g);
    let positives = 0;
    for (let i = 0; i < g.same.length; i++) positives += g.same[i] ? 1 : 0;
    const negatives = g.same.length - positives;
    if (positives === 0 || negatives === 0) {
      throw new GabnError(
        'dataset',
        `group '${g.name}' has ${positives} genuine and ${negatives} impostor pairs`,
        {
          expected: 'both genuine (same = 1) and impostor (same = 0) pairs in every group',
        },
      );
    }
    const group: PreparedGroup = {
      name: g.name,
      distances: g.distances,
      same: g.same,
      folds,
      foldCount: foldCount(folds),
      bins: thresholdBins(g.distances, protocol.thresholds),
      impostorOrder: impostorOrder(g.distances, g.same),
      positives,
      negatives,
      offset,
      ...(g.images === undefined ? {} : { images: g.images }),
    };
    offset += g.distances.length;
    return group;
  });
  const allDistances = new Float64Array(offset);
  const pooled: number[] = [];
  for (const g of prepared) {
    allDistances.set(g.distances, g.offset);
    for (const i of g.impostorOrder) pooled.push(g.offset + i);
  }
  pooled.sort((a, b) => allDistances[a]! - allDistances[b]! || a - b);
  return {
    protocol,
    groups: prepared,
    allDistances,
    pooledImpostorOrder: Int32Array.from(pooled),
    pairCount: offset,
  };
}

export interface GroupFigures {
  /** Mean held-out accuracy over the folds, fraction. */
  readonly accuracy: number;
  readonly foldAccuracies: Float64Array;
  readonly foldThresholdIndices: Int32Array;
  readonly tarAtFar: readonly TarAtFar[];
}

export interface OperatingPointFigures {
  readonly targetFmr: number;
  /** The global threshold, set on the pooled impostors of all groups. */
  readonly threshold: number;
  /** Pooled FMR achieved at the threshold. */
  readonly pooledFmr: number;
  /** Per group, in group order. */
  readonly fmr: Float64Array;
  readonly fnmr: Float64Array;
  readonly fdr: number;
  readonly garbe: number;
  readonly giniFmr: number;
  readonly giniFnmr: number;
  readonly fmrRatio: number;
  readonly fnmrRatio: number;
}

export interface AuditFigures {
  readonly groups: readonly GroupFigures[];
  /** Avg, STD and SER of the group accuracies in percent, as the paper computes them. */
  readonly paper: PaperFairness;
  readonly operatingPoints: readonly OperatingPointFigures[];
}

/** All figures; `weights` holds a multiplicity per pair of the concatenated groups (all 1 if absent). */
export function computeFigures(audit: PreparedAudit, weights?: Uint32Array): AuditFigures {
  const { protocol } = audit;
  const view = (g: PreparedGroup) =>
    weights === undefined ? undefined : weights.subarray(g.offset, g.offset + g.distances.length);
  const groups = audit.groups.map((g): GroupFigures => {
    const w = view(g);
    const counts = binCounts(g.bins, g.same, g.folds, g.foldCount, protocol.thresholds.length + 1, w);
    const { accuracies, bestIndices } = foldAccuracies(counts, protocol.thresholds.length);
    return {
      accuracy: numpySum(accuracies) / g.foldCount,
      foldAccuracies: accuracies,
      foldThresholdIndices: bestIndices,
      tarAtFar: protocol.tarFars.map((far) => tarAtFar(g.distances, g.same, g.impostorOrder, far, w)),
    };
  });
  const paper = paperFairness(groups.map((g) => 100 * g.accuracy));
  const operatingPoints = protocol.targetFmrs.map((targetFmr): OperatingPointFigures => {
    const threshold = thresholdAtFmr(audit.allDistances, audit.pooledImpostorOrder, targetFmr, weights);
    const fmr = new Float64Array(audit.groups.length);
    const fnmr = new Float64Array(audit.groups.length);
    let matched = 0;
    let impostors = 0;
    audit.groups.forEach((g, k) => {
      const rates = errorRatesAt(g.distances, g.same, threshold, view(g));
      fmr[k] = rates.fmr;
      fnmr[k] = rates.fnmr;
      impostors += rates.impostors;
      matched += rates.falseMatches;
    });
    return {
      targetFmr,
      threshold,
      pooledFmr: matched / impostors,
      fmr,
      fnmr,
      fdr: fairnessDiscrepancyRate(fmr, fnmr, protocol.alpha),
      garbe: garbe(fmr, fnmr, protocol.alpha),
      giniFmr: giniCoefficient(fmr),
      giniFnmr: giniCoefficient(fnmr),
      fmrRatio: maxMinRatio(fmr),
      fnmrRatio: maxMinRatio(fnmr),
    };
  });
  return { groups, paper, operatingPoints };
}

/**
 * The scalar figures as one flat vector, with `figureNames` giving each slot a stable name. The
 * bootstrap stores one such vector per resample.
 */
export function figureVector(f: AuditFigures): number[] {
  const out: number[] = [];
  for (const g of f.groups) {
    out.push(100 * g.accuracy);
    for (const t of g.tarAtFar) out.push(t.tar);
  }
  out.push(f.paper.average, f.paper.std, f.paper.ser);
  for (const op of f.operatingPoints) {
    out.push(op.threshold);
    for (let k = 0; k < op.fmr.length; k++) out.push(op.fmr[k]!, op.fnmr[k]!);
    out.push(op.fdr, op.garbe, op.giniFmr, op.giniFnmr, op.fmrRatio, op.fnmrRatio);
  }
  return out;
}

export function figureNames(audit: PreparedAudit): string[] {
  const out: string[] = [];
  for (const g of audit.groups) {
    out.push(`group.${g.name}.accuracy`);
    for (const far of audit.protocol.tarFars) out.push(`group.${g.name}.tar@far=${far}`);
  }
  out.push('avg', 'std', 'ser');
  for (const fmr of audit.protocol.targetFmrs) {
    out.push(`fmr=${fmr}.threshold`);
    for (const g of audit.groups)
      out.push(`fmr=${fmr}.group.${g.name}.fmr`, `fmr=${fmr}.group.${g.name}.fnmr`);
    for (const name of ['fdr', 'garbe', 'giniFmr', 'giniFnmr', 'fmrRatio', 'fnmrRatio'])
      out.push(`fmr=${fmr}.${name}`);
  }
  return out;
}
