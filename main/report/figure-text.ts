/**
 * Figures as words, for the reports and the app's sentences: numbers with a fixed number of digits,
 * intervals whose open end is said ("no upper bound"), and infinite ratios named for what makes them
 * infinite (a group without errors) instead of a bare ∞. The report model holds an infinite figure as
 * null (JSON has no Infinity); this is the one place that turns such nulls into text.
 */
import type { AuditReport, Estimate, JsonInterval } from './report-model.ts';

/** A finite number with `digits` decimals; null (infinite) as the word "infinite". */
export function formatNumber(value: number | null, digits = 2): string {
  return value === null ? 'infinite' : value.toFixed(digits);
}

/** "[l, u]", with an infinite end said in words: "[1.00, no upper bound]". */
export function formatInterval(interval: JsonInterval, digits = 2, scale = 1): string {
  const lower = interval.lower === null ? 'no lower bound' : (interval.lower * scale).toFixed(digits);
  const upper = interval.upper === null ? 'no upper bound' : (interval.upper * scale).toFixed(digits);
  return `[${lower}, ${upper}]`;
}

/** Signed, for differences: "+0.98", "−1.20" (a true minus sign). */
export function formatSigned(value: number, digits = 2): string {
  const text = Math.abs(value).toFixed(digits);
  return Number(text) === 0 ? text : `${value > 0 ? '+' : '−'}${text}`;
}

/** Names joined for a sentence: "a", "a and b", "a, b and c". */
export function joinNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/**
 * A max/min ratio (SER, the FMR and FNMR ratios) that may be infinite. Finite: "2.31 [1.20, 4.50]".
 * Infinite: "infinite: group-c made no false matches (95% interval from 1.00 up)", naming the groups
 * whose rate of zero makes it so.
 */
export function ratioText(
  estimate: Estimate,
  zeroGroups: readonly string[],
  what: string,
  digits = 2,
): { value: string; interval: string } {
  const i = estimate.interval;
  if (estimate.value !== null)
    return { value: estimate.value.toFixed(digits), interval: i ? formatInterval(i, digits) : '' };
  const who = zeroGroups.length > 0 ? joinNames(zeroGroups) : 'a group';
  const value = `infinite: ${who} made no ${what}`;
  if (i === null) return { value, interval: '' };
  if (i.lower === null) return { value, interval: '(every resample infinite too)' };
  return {
    value,
    interval: `(95% interval from ${i.lower.toFixed(digits)} up${i.upper === null ? '' : ` to ${i.upper.toFixed(digits)}`})`,
  };
}

/** The groups whose accuracy is 100%: they make SER infinite. */
export function errorlessGroups(report: AuditReport): string[] {
  return report.groups.filter((g) => g.accuracy.value === 100).map((g) => g.name);
}

/** The groups with no false matches (rate 'fmr') or no false non-matches ('fnmr') at a global threshold. */
export function zeroRateGroups(report: AuditReport, operatingPoint: number, rate: 'fmr' | 'fnmr'): string[] {
  return report.groups
    .filter((g) => g.operatingPoints[operatingPoint]?.[rate].value === 0)
    .map((g) => g.name);
}
