/**
 * Gini Aggregation Rate for Biometric Equitability, Howard, Laird, Rubin, Sirotin, Tipton, Vemury,
 * "Evaluating proposed fairness models for face recognition algorithms" (2022):
 *   A(x) = n/(n − 1) · Σ_i Σ_j |x_i − x_j| / (2 n² x̄),
 *   GARBE(τ) = α · A(FMR(τ)) + (1 − α) · A(FNMR(τ)),
 * the Gini coefficient of the per-group error rates with the small-sample correction n/(n − 1), so
 * that one group holding all the errors gives 1. 0 is perfectly equitable; α = 0.5 by default.
 */
import { GabnError } from '../base/errors.ts';

/**
 * The corrected Gini coefficient. When every value is 0 the groups are equal (no errors anywhere)
 * and the coefficient is taken as 0 rather than the undefined 0/0.
 */
export function giniCoefficient(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) throw new GabnError('internal', `the Gini coefficient needs at least 2 values, got ${n}`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!(values[i]! >= 0))
      throw new GabnError('internal', `the Gini coefficient needs rates >= 0, got ${values[i]}`);
    sum += values[i]!;
  }
  if (sum === 0) return 0;
  const mean = sum / n;
  let pairs = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pairs += Math.abs(values[i]! - values[j]!);
  return (n / (n - 1)) * (pairs / (2 * n * n * mean));
}

export function garbe(fmr: ArrayLike<number>, fnmr: ArrayLike<number>, alpha = 0.5): number {
  if (fmr.length !== fnmr.length)
    throw new GabnError('internal', 'GARBE needs one FMR and one FNMR per group');
  if (!(alpha >= 0 && alpha <= 1))
    throw new GabnError('usage', `GARBE alpha must lie in [0, 1], got ${alpha}`);
  return alpha * giniCoefficient(fmr) + (1 - alpha) * giniCoefficient(fnmr);
}
