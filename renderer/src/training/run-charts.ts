/**
 * The live view's figures of one run, as chart specifications: per step the paper's logging (L_ID,
 * L_adv with its floor log G, the discriminator's loss and accuracy with chance 1/G, L_conf, each
 * group's mean confidence as in Fig. 3, the learning rate, images per second), per epoch each
 * group's validation accuracy, STD and SER, and the mechanism figures on the run's probe set (the
 * discriminator's accuracy against chance 1/G, each group's attention mass fraction, entropy and
 * lattice share, the distance between the groups' average GAMs, each group's mean confidence). The
 * Runs view overlays one figure of several runs.
 */
import type { EpochRecord, GroupMechanisms, Mechanisms } from '../../../main/api/contract.ts';
import type { RunSeries, StepFigure } from './series.ts';

export interface LineSpec {
  readonly label: string;
  readonly color: string;
  readonly xs: ArrayLike<number>;
  readonly ys: ArrayLike<number | null>;
  readonly dashed?: boolean;
}

export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly lines: LineSpec[];
  readonly markers?: boolean;
}

export const PALETTE = [
  '#1c7ed6',
  '#e8590c',
  '#2f9e44',
  '#ae3ec9',
  '#f59f00',
  '#0ca678',
  '#e64980',
  '#495057',
];

export function colorOf(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

/** A horizontal reference at `y` over the steps drawn. */
function reference(label: string, steps: readonly number[], y: number): LineSpec {
  const xs = steps.length > 0 ? [steps[0]!, steps.at(-1)!] : [];
  return { label, color: '#868e96', xs, ys: xs.map(() => y), dashed: true };
}

/** Every group named in the series, in the order of the validation (else of the step records). */
export function groupsOf(series: RunSeries): string[] {
  const validated = series.epochs.find((e) => e.validation)?.validation?.groups;
  return validated ? Object.keys(validated) : Object.keys(series.groupConfidence);
}

/** A horizontal reference at `y` over the epochs drawn. */
function epochReference(label: string, epochs: readonly number[], y: number): LineSpec {
  const xs = epochs.length > 0 ? [Math.min(...epochs), Math.max(...epochs)] : [];
  return { label, color: '#868e96', xs, ys: xs.map(() => y), dashed: true };
}

type GroupFigure = Exclude<keyof GroupMechanisms, 'images'>;

/** The per-epoch mechanism charts: one line per group, or one line, over the epochs measured. */
function mechanismCharts(series: RunSeries, groups: readonly string[]): ChartSpec[] {
  const measured = series.epochs.filter((e) => e.mechanisms);
  const epochs = measured.map((e) => e.epoch);
  const chance = measured[0]?.mechanisms?.chance ?? 1 / Math.max(groups.length, 1);
  const perGroup = (id: string, title: string, yLabel: string, figure: GroupFigure): ChartSpec => ({
    id,
    title,
    xLabel: 'epoch',
    yLabel,
    markers: true,
    lines: groups.map((group, i) => ({
      label: group,
      color: colorOf(i),
      xs: epochs,
      ys: measured.map((e) => e.mechanisms!.groups[group]?.[figure].value ?? null),
    })),
  });
  return [
    {
      id: 'probeDiscriminatorAccuracy',
      title: 'Discriminator accuracy on probe GAMs',
      xLabel: 'epoch',
      yLabel: 'accuracy',
      markers: true,
      lines: [
        {
          label: 'accuracy',
          color: colorOf(4),
          xs: epochs,
          ys: measured.map((e) => e.mechanisms!.discriminatorAccuracy?.value ?? null),
        },
        epochReference(`chance 1/G = ${chance.toFixed(2)}`, epochs, chance),
      ],
    },
    perGroup('probeMassFraction', 'Attention mass fraction per group', 'mass fraction', 'massFraction'),
    perGroup('probeEntropy', 'Attention entropy per group', 'normalised entropy', 'entropy'),
    perGroup('probeLatticeShare', 'Stride lattice share per group', 'share of the mass', 'latticeShare'),
    {
      id: 'gamDistance',
      title: 'Distance between group GAMs',
      xLabel: 'epoch',
      yLabel: 'total variation',
      markers: true,
      lines: [
        {
          label: 'GAM distance',
          color: colorOf(6),
          xs: epochs,
          ys: measured.map((e) => e.mechanisms!.gamDistance),
        },
      ],
    },
    perGroup('probeConfidence', 'Probe confidence P_max per group', 'mean P_max', 'confidence'),
  ];
}

export function runCharts(series: RunSeries): ChartSpec[] {
  const { steps, figures } = series;
  const groups = groupsOf(series);
  const g = Math.max(groups.length, 1);
  const step = (
    id: StepFigure,
    title: string,
    yLabel: string,
    color: string,
    extra: LineSpec[] = [],
  ): ChartSpec => ({
    id,
    title,
    xLabel: 'step',
    yLabel,
    lines: [{ label: title, color, xs: steps, ys: figures[id] }, ...extra],
  });
  const validated = series.epochs.filter((e) => e.validation);
  const epochs = validated.map((e) => e.epoch);
  const perEpoch = (pick: (v: NonNullable<(typeof validated)[number]['validation']>) => number) =>
    validated.map((e) => pick(e.validation!));
  return [
    step('identityLoss', 'L_ID (margin softmax, Eq. 6)', 'loss', colorOf(0)),
    step('adversarialLoss', 'L_adv (Eq. 4)', 'loss', colorOf(1), [
      reference(`log G = ${Math.log(g).toFixed(3)} (groups indistinguishable)`, steps, Math.log(g)),
    ]),
    step('discriminatorLoss', 'Discriminator loss (Eq. 3)', 'cross entropy', colorOf(3)),
    step('discriminatorAccuracy', 'Discriminator accuracy', 'fraction of the batch', colorOf(4), [
      reference(`chance 1/G = ${(1 / g).toFixed(2)}`, steps, 1 / g),
    ]),
    step('confidenceLoss', 'L_conf (Eq. 5): share with P_max ≥ T_conf', 'fraction of the batch', colorOf(2)),
    {
      id: 'groupConfidence',
      title: 'Mean confidence P_max per group (Fig. 3)',
      xLabel: 'step',
      yLabel: 'mean P_max',
      lines: groups.map((group, i) => ({
        label: group,
        color: colorOf(i),
        xs: steps,
        ys: series.groupConfidence[group] ?? [],
      })),
    },
    step('lr', 'Learning rate', 'learning rate', colorOf(7)),
    step('imagesPerSecond', 'Throughput', 'images / s', colorOf(5)),
    {
      id: 'validationAccuracy',
      title: 'Validation accuracy per group',
      xLabel: 'epoch',
      yLabel: 'accuracy (%)',
      markers: true,
      lines: [
        ...groups.map((group, i) => ({
          label: group,
          color: colorOf(i),
          xs: epochs,
          ys: validated.map((e) => e.validation!.groups[group] ?? null),
        })),
        { label: 'Avg', color: '#212529', xs: epochs, ys: perEpoch((v) => v.average), dashed: true },
      ],
    },
    {
      id: 'std',
      title: 'STD of the group accuracies',
      xLabel: 'epoch',
      yLabel: 'STD (percentage points)',
      markers: true,
      lines: [{ label: 'STD', color: colorOf(6), xs: epochs, ys: perEpoch((v) => v.std) }],
    },
    {
      id: 'ser',
      title: 'SER (skewed error ratio)',
      xLabel: 'epoch',
      yLabel: 'SER',
      markers: true,
      lines: [{ label: 'SER', color: colorOf(3), xs: epochs, ys: perEpoch((v) => v.ser) }],
    },
    ...mechanismCharts(series, groups),
  ];
}

/** Each group's value of one figure, where there is one. */
function groupValues(m: Mechanisms | null | undefined, figure: GroupFigure): number[] {
  return Object.values(m?.groups ?? {})
    .map((g) => g[figure].value)
    .filter((v): v is number => v !== null);
}

/** The gap between the groups' highest and lowest value of one figure, or null. */
export function groupGap(m: Mechanisms | null | undefined, figure: GroupFigure): number | null {
  const values = groupValues(m, figure);
  return values.length > 0 ? Math.max(...values) - Math.min(...values) : null;
}

/** The lowest group's value of one figure, or null. */
export function groupLowest(m: Mechanisms | null | undefined, figure: GroupFigure): number | null {
  const values = groupValues(m, figure);
  return values.length > 0 ? Math.min(...values) : null;
}

/** The figures a comparison can overlay, by id; a per-epoch one says how it is read from an epoch. */
export const COMPARABLE: readonly {
  readonly id: string;
  readonly title: string;
  readonly perEpoch?: (e: EpochRecord) => number | null;
}[] = [
  { id: 'identityLoss', title: 'L_ID' },
  { id: 'adversarialLoss', title: 'L_adv' },
  { id: 'discriminatorLoss', title: 'Discriminator loss' },
  { id: 'discriminatorAccuracy', title: 'Discriminator accuracy' },
  { id: 'confidenceLoss', title: 'L_conf' },
  { id: 'lr', title: 'Learning rate' },
  { id: 'imagesPerSecond', title: 'Images / s' },
  { id: 'average', title: 'Validation Avg (%)', perEpoch: (e) => e.validation?.average ?? null },
  { id: 'std', title: 'Validation STD', perEpoch: (e) => e.validation?.std ?? null },
  { id: 'ser', title: 'Validation SER', perEpoch: (e) => e.validation?.ser ?? null },
  {
    id: 'probeDiscriminatorAccuracy',
    title: 'Discriminator accuracy on the probe GAMs',
    perEpoch: (e) => e.mechanisms?.discriminatorAccuracy?.value ?? null,
  },
  {
    id: 'lowestMassFraction',
    title: "Lowest group's attention mass fraction",
    perEpoch: (e) => groupLowest(e.mechanisms, 'massFraction'),
  },
  {
    id: 'gamDistance',
    title: 'Distance between group GAMs',
    perEpoch: (e) => e.mechanisms?.gamDistance ?? null,
  },
  {
    id: 'confidenceGap',
    title: 'Confidence gap between groups',
    perEpoch: (e) => groupGap(e.mechanisms, 'confidence'),
  },
];

/** A checkpoint compared with runs: its validation, as its provenance records it (its run's last epoch). */
export interface ReferenceCheckpoint {
  readonly label: string;
  readonly validation?: { readonly average: number; readonly std: number; readonly ser: number };
}

/**
 * One figure of several runs, one line each; for a per-epoch figure, a checkpoint's value as a dashed
 * line across the epochs drawn.
 */
export function comparisonChart(
  figure: string,
  runs: readonly { label: string; series: RunSeries }[],
  reference?: ReferenceCheckpoint,
): ChartSpec {
  const spec = COMPARABLE.find((c) => c.id === figure) ?? COMPARABLE[0]!;
  const lines = runs.map(({ label, series }, i): LineSpec => {
    const read = spec.perEpoch;
    if (!read)
      return { label, color: colorOf(i), xs: series.steps, ys: series.figures[spec.id as StepFigure] };
    const measured = series.epochs.filter((e) => read(e) !== null);
    return { label, color: colorOf(i), xs: measured.map((e) => e.epoch), ys: measured.map(read) };
  });
  const value = ['average', 'std', 'ser'].includes(spec.id)
    ? reference?.validation?.[spec.id as 'average' | 'std' | 'ser']
    : undefined;
  if (spec.perEpoch && reference && typeof value === 'number') {
    const epochs = lines.flatMap((l) => Array.from(l.xs));
    const span = epochs.length > 0 ? [Math.min(...epochs), Math.max(...epochs)] : [1, 1];
    lines.push({
      label: `${reference.label} (checkpoint)`,
      color: '#212529',
      xs: span,
      ys: span.map(() => value),
      dashed: true,
    });
  }
  return {
    id: `compare-${spec.id}`,
    title: spec.title,
    xLabel: spec.perEpoch ? 'epoch' : 'step',
    yLabel: spec.title,
    markers: spec.perEpoch !== undefined,
    lines,
  };
}
