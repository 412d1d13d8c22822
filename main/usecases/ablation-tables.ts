/**
 * The tables of an ablation's report (ablation.html) beside the audit's own: every run's mechanism
 * figures, its accuracies on each further test set, and each preset's mean over seeds and test sets.
 */
import { formatInterval, formatNumber } from '../report/figure-text.ts';
import type { TextTable } from '../report/html.ts';
import type { Estimate } from '../report/report-model.ts';
import type { AblationRow, AccuracyRow } from './ablation.ts';
import { gamDistanceEstimate, mechanismSummary } from './training/mechanisms.ts';

function withInterval(e: Estimate | null | undefined, digits = 3): string {
  if (!e || e.value === null) return '—';
  return e.interval
    ? `${formatNumber(e.value, digits)} ${formatInterval(e.interval, digits)}`
    : formatNumber(e.value, digits);
}

/**
 * The mechanism figures of every run side by side (ablation.html): the discriminator's accuracy on
 * the probe GAMs, each group's attention mass fraction and mean confidence, the GAM distance and the
 * confidence gap, each with its 95% interval but the gap.
 */
export function mechanismTable(rows: readonly AblationRow[], labels: readonly string[]): TextTable {
  const groups = [...new Set(rows.flatMap((r) => Object.keys(r.mechanisms?.groups ?? {})))];
  return {
    caption:
      "Mechanism figures of each run's last epoch, on its probe set of training images (docs/training.md), with 95% intervals",
    columns: [
      'run',
      'discriminator accuracy',
      ...groups.map((g) => `mass fraction ${g}`),
      'GAM distance',
      ...groups.map((g) => `confidence ${g}`),
      'confidence gap',
    ],
    rows: rows.map((r, k) => {
      const m = r.mechanisms;
      const gap = m ? mechanismSummary(m).confidenceGap : null;
      return {
        label: labels[k] ?? `${r.preset} (seed ${r.seed})`,
        cells: [
          m?.discriminatorAccuracy
            ? `${withInterval(m.discriminatorAccuracy)} (chance ${formatNumber(m.chance, 3)})`
            : '—',
          ...groups.map((g) => withInterval(m?.groups[g]?.massFraction)),
          withInterval(m ? gamDistanceEstimate(m) : null),
          ...groups.map((g) => withInterval(m?.groups[g]?.confidence)),
          gap === null ? '—' : formatNumber(gap, 3),
        ],
      };
    }),
  };
}

/** Every run's accuracies on one further test set, with 95% intervals, as the audit's table has them. */
export function accuracyTable(
  caption: string,
  rows: readonly AccuracyRow[],
  labels: readonly string[],
): TextTable {
  const groups = [...new Set(rows.flatMap((r) => Object.keys(r.groups)))];
  return {
    caption: `${caption}: accuracy (%) with 95% bootstrap intervals over the pairs`,
    columns: ['run', ...groups, 'Avg', 'STD', 'SER'],
    rows: rows.map((r, k) => ({
      label: labels[k] ?? `${r.preset} (seed ${r.seed})`,
      cells: [
        ...groups.map((g) => withInterval(r.groups[g], 2)),
        ...[r.average, r.std, r.ser].map((e) => withInterval(e, 2)),
      ],
    })),
  };
}

/**
 * Each preset's Avg, STD and SER averaged over its seeds and every test set (the `val` pairs and the
 * further ones): the figure a comparison of presets reads first, since which people a test set
 * draws and which seed a run has move a run's figures more than its intervals show. An infinite SER
 * (a group without errors) is left out of its mean.
 */
export function meanTable(testSets: readonly (readonly AccuracyRow[])[]): TextTable {
  const presets = [...new Set(testSets.flatMap((rows) => rows.map((r) => r.preset)))];
  const mean = (preset: string, figure: 'average' | 'std' | 'ser') => {
    const values = testSets.flatMap((rows) =>
      rows.filter((r) => r.preset === preset && r[figure].value !== null).map((r) => r[figure].value!),
    );
    return values.length === 0 ? '—' : formatNumber(values.reduce((a, b) => a + b, 0) / values.length, 2);
  };
  const seeds = (preset: string) => testSets[0]?.filter((r) => r.preset === preset).length ?? 0;
  return {
    caption: `Each preset's mean over its seeds and the ${testSets.length} test sets`,
    columns: ['preset', 'seeds', 'Avg', 'STD', 'SER'],
    rows: presets.map((preset) => ({
      label: preset,
      cells: [String(seeds(preset)), mean(preset, 'average'), mean(preset, 'std'), mean(preset, 'ser')],
    })),
  };
}
