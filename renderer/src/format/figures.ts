/**
 * Figures of the report model as the views print them: fixed digits, an interval in brackets whose
 * open end is said in words, and an infinite ratio (null in the model) said as what makes it so.
 */
import type { Estimate, JsonInterval } from '../../../main/api/contract.ts';

export function fixed(value: number | null | undefined, digits = 2, scale = 1): string {
  if (value === undefined) return '—';
  return value === null ? 'infinite' : (value * scale).toFixed(digits);
}

export function interval(i: JsonInterval | null, digits = 2, scale = 1): string {
  if (i === null) return '';
  const end = (v: number | null, word: string) => (v === null ? word : (v * scale).toFixed(digits));
  return `[${end(i.lower, 'no lower bound')}, ${end(i.upper, 'no upper bound')}]`;
}

/** "97.50 [95.00, 100.00]". */
export function estimate(e: Estimate, digits = 2, scale = 1): string {
  const i = interval(e.interval, digits, scale);
  return i ? `${fixed(e.value, digits, scale)} ${i}` : fixed(e.value, digits, scale);
}

/** A max/min ratio, infinite when some group made no error: "infinite: group-c made no false matches". */
export function ratio(e: Estimate, zeroGroups: readonly string[], what: string): string {
  if (e.value !== null) return estimate(e);
  const who =
    zeroGroups.length === 0
      ? 'a group'
      : zeroGroups.length === 1
        ? zeroGroups[0]
        : `${zeroGroups.slice(0, -1).join(', ')} and ${zeroGroups.at(-1)}`;
  const lower = e.interval?.lower;
  return `infinite: ${who} made no ${what}${lower === null || lower === undefined ? '' : ` (95% interval from ${lower.toFixed(2)} up)`}`;
}

/** "+0.98", "−1.20". */
export function signed(value: number | null, digits = 2): string {
  if (value === null) return 'infinite';
  const text = Math.abs(value).toFixed(digits);
  return Number(text) === 0 ? text : `${value > 0 ? '+' : '−'}${text}`;
}
