/**
 * Fairness Discrepancy Rate, de Freitas Pereira & Marcel, "Fairness in biometrics: a figure of merit
 * to assess biometric verification systems" (IEEE T-BIOM 2021):
 *   FDR(τ) = 1 − (α · A(τ) + (1 − α) · B(τ)),
 *   A(τ) = max_{i,j} |FMR_i(τ) − FMR_j(τ)|,  B(τ) = max_{i,j} |FNMR_i(τ) − FNMR_j(τ)|,
 * at one threshold τ shared by all groups. 1 is perfectly fair, 0 maximally unfair; α = 0.5 weighs
 * false matches and false non-matches equally.
 */
import { GabnError } from '../base/errors.ts';

/** max_{i,j} |x_i − x_j| = max − min. */
export function maxAbsoluteDifference(values: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  return max - min;
}

export function fairnessDiscrepancyRate(
  fmr: ArrayLike<number>,
  fnmr: ArrayLike<number>,
  alpha = 0.5,
): number {
  if (fmr.length !== fnmr.length || fmr.length < 2) {
    throw new GabnError(
      'internal',
      `FDR needs the FMR and FNMR of at least 2 groups (${fmr.length}, ${fnmr.length})`,
    );
  }
  if (!(alpha >= 0 && alpha <= 1)) throw new GabnError('usage', `FDR alpha must lie in [0, 1], got ${alpha}`);
  return 1 - (alpha * maxAbsoluteDifference(fmr) + (1 - alpha) * maxAbsoluteDifference(fnmr));
}
