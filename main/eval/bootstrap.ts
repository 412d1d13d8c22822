/**
 * Bootstrap confidence intervals for every audit figure, and a paired bootstrap comparing two
 * checkpoints on the same pairs.
 *
 * Resampling scheme (stratified): within each group, within each fold, the genuine pairs and the
 * impostor pairs are resampled separately, with replacement, each stratum keeping its size. So every
 * resample keeps each group's positive and negative counts and the fold structure of the 10-fold
 * protocol (RFW: 300 + 300 per fold), and the 10-fold accuracy, the global thresholds and every
 * derived figure are recomputed on it. A resample is a vector of multiplicities, one per pair; the
 * distances are binned and sorted once (audit-figures.ts), so a replicate costs a few linear passes.
 *
 * Interval: the percentile interval, the (1 − c)/2 and (1 + c)/2 quantiles of the replicates with
 * NumPy's default linear interpolation (Hyndman & Fan type 7).
 */
import { GabnError } from '../base/errors.ts';
import { nextTurn } from '../base/event-loop.ts';
import { createPrng, type Prng } from '../base/random.ts';
import { checkConfidence, checkResamples, type Interval, percentileInterval } from '../base/statistics.ts';
import {
  type AuditFigures,
  computeFigures,
  figureNames,
  figureVector,
  type PreparedAudit,
} from './audit-figures.ts';

export interface BootstrapOptions {
  /** Number of resamples; 1000 by default. */
  readonly resamples?: number;
  /** Seed of the pseudo-random generator; the same seed gives the same intervals. */
  readonly seed?: number;
  /** Coverage of the intervals, 0.95 by default. */
  readonly confidence?: number;
  /** Aborting stops between resamples with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called now and then with the resamples done so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_SEED = 1;

/** Pair indices (into the concatenated groups) of every (group, fold, genuine/impostor) stratum. */
export function resamplingStrata(audit: PreparedAudit): Int32Array[] {
  const strata: Int32Array[] = [];
  for (const g of audit.groups) {
    const buckets: number[][] = Array.from({ length: 2 * g.foldCount }, () => []);
    for (let i = 0; i < g.distances.length; i++)
      buckets[2 * g.folds[i]! + (g.same[i] ? 1 : 0)]!.push(g.offset + i);
    for (const b of buckets) if (b.length > 0) strata.push(Int32Array.from(b));
  }
  return strata;
}

/** Fills `weights` with the multiplicities of one stratified resample. */
export function drawResample(strata: readonly Int32Array[], random: Prng, weights: Uint32Array): void {
  weights.fill(0);
  for (const stratum of strata) {
    const m = stratum.length;
    for (let j = 0; j < m; j++) weights[stratum[Math.floor(random.next() * m)]!]!++;
  }
}

function checkOptions(options: BootstrapOptions): { resamples: number; seed: number; confidence: number } {
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed))
    throw new GabnError('usage', `the bootstrap seed must be an integer, got ${seed}`);
  return {
    resamples: checkResamples(options.resamples ?? DEFAULT_RESAMPLES),
    seed,
    confidence: checkConfidence(options.confidence ?? 0.95),
  };
}

/** Lets signals and timers run during a long synchronous loop, and stops when aborted. */
function makeYielder(signal: AbortSignal | undefined): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last >= 25) {
      await nextTurn();
      last = Date.now();
    }
    if (signal?.aborted) {
      throw signal.reason instanceof Error
        ? signal.reason
        : new GabnError('cancelled', 'bootstrap cancelled');
    }
  };
}

export interface BootstrapResult {
  readonly resamples: number;
  readonly seed: number;
  readonly confidence: number;
  /** Figure names, as figureNames gives them. */
  readonly names: readonly string[];
  /** Replicates of each figure: replicates[figure][resample]. */
  readonly replicates: readonly Float64Array[];
  readonly intervals: readonly Interval[];
}

export async function bootstrapFigures(
  audit: PreparedAudit,
  options: BootstrapOptions = {},
): Promise<BootstrapResult> {
  const { resamples, seed, confidence } = checkOptions(options);
  const names = figureNames(audit);
  const replicates = names.map(() => new Float64Array(resamples));
  const strata = resamplingStrata(audit);
  const random = createPrng(seed);
  const weights = new Uint32Array(audit.pairCount);
  const pause = makeYielder(options.signal);
  for (let r = 0; r < resamples; r++) {
    await pause();
    drawResample(strata, random, weights);
    const vector = figureVector(computeFigures(audit, weights));
    for (let k = 0; k < vector.length; k++) replicates[k]![r] = vector[k]!;
    if (options.onProgress !== undefined && ((r + 1) % 10 === 0 || r + 1 === resamples)) {
      options.onProgress(r + 1, resamples);
    }
  }
  return {
    resamples,
    seed,
    confidence,
    names,
    replicates,
    intervals: replicates.map((values) => percentileInterval(values, confidence)),
  };
}

export interface PairedDifference {
  /** B − A on the original pairs. */
  readonly observed: number;
  readonly interval: Interval;
  /**
   * One-sided bootstrap p-value for "B is fairer" (a lower value): (1 + #{replicates with
   * B − A >= 0}) / (1 + resamples). Never 0, so it is conservative by at most 1/(resamples + 1).
   */
  readonly pValue: number;
}

export interface PairedComparison {
  readonly resamples: number;
  readonly seed: number;
  readonly confidence: number;
  readonly std: PairedDifference;
  readonly ser: PairedDifference;
  /** Avg accuracy of B − A (higher is better here, so no "fairer" p-value). */
  readonly average: { readonly observed: number; readonly interval: Interval };
  /** Each group's accuracy of B − A, in percentage points, in group order. */
  readonly groups: readonly {
    readonly name: string;
    readonly observed: number;
    readonly interval: Interval;
  }[];
}

/** Checks that two audits are on the same pairs: same groups, sizes, same flags and folds. */
function checkSamePairs(a: PreparedAudit, b: PreparedAudit): void {
  const fail = (why: string) =>
    new GabnError('dataset', `the two score sets are not on the same pairs: ${why}`, {
      expected: 'the same groups, pairs, same flags and folds in the same order for both checkpoints',
    });
  if (a.groups.length !== b.groups.length) throw fail(`${a.groups.length} groups against ${b.groups.length}`);
  a.groups.forEach((ga, k) => {
    const gb = b.groups[k]!;
    if (ga.name !== gb.name)
      throw fail(`group ${k + 1} is '${ga.name}' in one and '${gb.name}' in the other`);
    if (ga.same.length !== gb.same.length)
      throw fail(`group '${ga.name}' has ${ga.same.length} and ${gb.same.length} pairs`);
    for (let i = 0; i < ga.same.length; i++) {
      if (ga.same[i] !== gb.same[i] || ga.folds[i] !== gb.folds[i]) {
        throw fail(`pair ${i + 1} of group '${ga.name}' differs in its same flag or fold`);
      }
    }
  });
}

function difference(observed: number, diffs: Float64Array, confidence: number): PairedDifference {
  let notFairer = 0;
  for (const d of diffs) if (!(d < 0)) notFairer++;
  return {
    observed,
    interval: percentileInterval(diffs, confidence),
    pValue: (1 + notFairer) / (1 + diffs.length),
  };
}

/**
 * Paired bootstrap of B against A: each resample draws one set of pair indices and evaluates both
 * checkpoints on it, so the pair-to-pair variation common to both cancels in the difference.
 */
export async function pairedBootstrap(
  a: PreparedAudit,
  b: PreparedAudit,
  options: BootstrapOptions = {},
): Promise<PairedComparison> {
  checkSamePairs(a, b);
  const { resamples, seed, confidence } = checkOptions(options);
  const strata = resamplingStrata(a);
  const random = createPrng(seed);
  const weights = new Uint32Array(a.pairCount);
  const pause = makeYielder(options.signal);
  const std = new Float64Array(resamples);
  const ser = new Float64Array(resamples);
  const average = new Float64Array(resamples);
  const groups = a.groups.map(() => new Float64Array(resamples));
  for (let r = 0; r < resamples; r++) {
    await pause();
    drawResample(strata, random, weights);
    const fa: AuditFigures = computeFigures(a, weights);
    const fb: AuditFigures = computeFigures(b, weights);
    std[r] = fb.paper.std - fa.paper.std;
    ser[r] = fb.paper.ser - fa.paper.ser;
    average[r] = fb.paper.average - fa.paper.average;
    groups.forEach((g, k) => {
      g[r] = 100 * (fb.groups[k]!.accuracy - fa.groups[k]!.accuracy);
    });
    if (options.onProgress !== undefined && ((r + 1) % 10 === 0 || r + 1 === resamples)) {
      options.onProgress(r + 1, resamples);
    }
  }
  const fa = computeFigures(a);
  const fb = computeFigures(b);
  const pa = fa.paper;
  const pb = fb.paper;
  return {
    resamples,
    seed,
    confidence,
    std: difference(pb.std - pa.std, std, confidence),
    ser: difference(pb.ser - pa.ser, ser, confidence),
    average: { observed: pb.average - pa.average, interval: percentileInterval(average, confidence) },
    groups: a.groups.map((g, k) => ({
      name: g.name,
      observed: 100 * (fb.groups[k]!.accuracy - fa.groups[k]!.accuracy),
      interval: percentileInterval(groups[k]!, confidence),
    })),
  };
}
