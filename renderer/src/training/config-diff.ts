/**
 * What differs between runs' configurations: every setting (dotted path) whose value is not the same
 * in all of them, with each run's value as shown, for the Runs view's comparison.
 */

export interface Difference {
  readonly key: string;
  /** One per run, in the order given; '—' where a run has no such setting. */
  readonly values: string[];
}

/** Every leaf of a plain object as dotted path → value (lists are leaves). */
export function flatten(value: unknown, prefix = ''): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return prefix ? { [prefix]: value } : {};
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value))
    Object.assign(out, flatten(inner, prefix ? `${prefix}.${key}` : key));
  return out;
}

export function shown(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function configDifferences(runs: readonly Record<string, unknown>[]): Difference[] {
  const flat = runs.map((run) => flatten(run));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  return keys
    .map((key) => ({ key, values: flat.map((f) => shown(f[key])) }))
    .filter((d) => new Set(d.values).size > 1);
}
