/**
 * What a paired comparison of checkpoint B against A on the same pairs found, in plain sentences: the
 * HTML report prints them and the app shows them. Fairness (STD, SER) follows the one-sided test of
 * the paired bootstrap ("B is fairer" when p < 0.05); a group's accuracy difference is said to exist
 * when its 95% interval leaves out 0.
 */
import { formatInterval, formatSigned } from './figure-text.ts';
import type { ComparisonReport, PairedDifferenceReport } from './report-model.ts';

export interface ComparisonVerdict {
  /** The first sentence: whether B is fairer at all. */
  readonly headline: string;
  readonly std: string;
  readonly ser: string;
  /** One sentence per group, in group order (absent in reports written before per-group differences). */
  readonly groups: readonly { readonly name: string; readonly sentence: string }[];
}

function fairness(
  name: 'STD' | 'SER',
  unit: string,
  d: PairedDifferenceReport,
  names: { a: string; b: string },
): string {
  const p = `p = ${d.pValue.toFixed(3)}`;
  if (d.observed === null) {
    return `${name} cannot be compared as a number: one of the two has a group without errors (an infinite SER) (${p}).`;
  }
  const interval = formatInterval(d.interval, 2);
  if (d.fairer) {
    return `${names.b}'s ${name} is lower by ${Math.abs(d.observed).toFixed(2)}${unit} than ${names.a}'s (difference ${formatSigned(d.observed)} ${interval}, ${p}).`;
  }
  return `No evidence that ${names.b} is fairer by ${name}: the difference is ${formatSigned(d.observed)}${unit} ${interval} (${p}).`;
}

function groupSentence(
  g: NonNullable<ComparisonReport['groups']>[number],
  names: { a: string; b: string },
): string {
  if (g.observed === null) return `The accuracy difference on ${g.name} is not finite.`;
  const interval = formatInterval(g.interval, 2);
  const size = `${Math.abs(g.observed).toFixed(2)} points ${interval}`;
  const { lower, upper } = g.interval;
  if (lower !== null && lower > 0)
    return `${names.b} is more accurate than ${names.a} on ${g.name} by ${size}.`;
  if (upper !== null && upper < 0)
    return `${names.b} is less accurate than ${names.a} on ${g.name} by ${size}.`;
  return `No evidence of an accuracy difference on ${g.name}: ${formatSigned(g.observed)} points ${interval}.`;
}

export function comparisonVerdict(c: ComparisonReport, names: { a: string; b: string }): ComparisonVerdict {
  const fairer = [c.std.fairer ? 'STD' : '', c.ser.fairer ? 'SER' : ''].filter((x) => x !== '');
  const headline =
    fairer.length > 0
      ? `${names.b} is fairer than ${names.a} by ${fairer.join(' and ')} (paired bootstrap, ${c.resamples} resamples of the same pairs, one-sided p < 0.05).`
      : `No evidence that ${names.b} is fairer than ${names.a} (paired bootstrap, ${c.resamples} resamples of the same pairs).`;
  return {
    headline,
    std: fairness('STD', ' points', c.std, names),
    ser: fairness('SER', '', c.ser, names),
    groups: (c.groups ?? []).map((g) => ({ name: g.name, sentence: groupSentence(g, names) })),
  };
}
