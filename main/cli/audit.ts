/**
 * `gabn audit`: per-group verification accuracy and fairness figures with bootstrap intervals,
 * written as a report. The pairs' distances come from a source: a scores CSV from any framework
 * (--scores), or a checkpoint's embeddings of a dataset's pairs (--checkpoint with --data); everything
 * after `loadSource` is the same for both.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Dataset, loadDataset } from '../data/index.ts';
import { loadEngine } from '../engine/index.ts';
import { GabnError } from '../errors.ts';
import { DEFAULT_PROTOCOL, type GroupPairs, prepareAudit } from '../eval/audit-figures.ts';
import {
  type BootstrapResult,
  bootstrapFigures,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  type PairedComparison,
  pairedBootstrap,
} from '../eval/bootstrap.ts';
import { checkpointDistances, checkpointHash } from '../eval/embeddings.ts';
import { readScoresCsv, SCORE_KINDS, type ScoreKind } from '../eval/scores-csv.ts';
import { attentionOverlayPng, encodePng, type RgbImage } from '../gabn/attention-figures.ts';
import { extractAttention } from '../gabn/attention-job.ts';
import { defaultEraseFor } from '../gabn/masks.ts';
import { loadEmbedder } from '../models/embedder.ts';
import { buildAuditReport } from '../report/audit-report.ts';
import { writeCsvReport } from '../report/csv.ts';
import { type HtmlOptions, renderHtmlReport, writeHtmlReport } from '../report/html.ts';
import { writeJsonReport } from '../report/json.ts';
import { writePdfReport } from '../report/pdf.ts';
import { sha256Hex, softwareVersion } from '../report/provenance.ts';
import type { AuditReport, InputFile, Provenance } from '../report/report-model.ts';
import { formatOptions, type ParsedOptions, parseArgs } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';
import { progressLine } from './progress.ts';

const options = {
  checkpoint: {
    type: 'strings',
    description:
      'a checkpoint to audit on --data (give a second one to test whether it is fairer than the first)',
  },
  data: {
    type: 'string',
    description: 'the verification set for --checkpoint: an RFW folder or a pairs CSV',
  },
  'no-flip': { type: 'boolean', description: 'do not add the mirror image embedding (insightface adds it)' },
  scores: { type: 'string', description: 'CSV of pair scores with header group,same,score[,fold]' },
  'score-kind': {
    type: 'string',
    description: 'similarity (cosine, the default; distance = 2 - 2*score) or distance (used as is)',
  },
  bootstrap: {
    type: 'number',
    description: `bootstrap resamples for the 95% intervals (default ${DEFAULT_RESAMPLES}; 0: none)`,
  },
  seed: { type: 'number', description: `seed of the bootstrap (default ${DEFAULT_SEED})` },
  compare: {
    type: 'string',
    description:
      'a second scores CSV on the same pairs (e.g. checkpoint B): paired bootstrap of whether it is fairer',
  },
  out: { type: 'strings', description: 'report file: .json, .csv, .html or .pdf (repeatable)' },
  'no-faces': { type: 'boolean', description: 'leave every face image out of the report' },
  'attention-images': {
    type: 'number',
    description:
      'HTML/PDF of a checkpoint: images per group for the average attention maps (default 32; 0: none)',
  },
} as const;

/** Every report format; HTML and PDF also show the other audited checkpoint side by side. */
export const WRITERS: Record<
  string,
  (file: string, reports: AuditReport[], options: HtmlOptions) => Promise<void>
> = {
  '.json': (file, reports) => writeJsonReport(file, reports[0]!),
  '.csv': (file, reports) => writeCsvReport(file, reports[0]!),
  '.html': (file, reports, options) => writeHtmlReport(file, reports, options),
  '.pdf': (file, reports, options) => writePdfReport(file, renderHtmlReport(reports, options)),
};

export interface Source {
  /** The compute backend, when a checkpoint produced the distances. */
  readonly backend?: string;
  readonly groups: GroupPairs[];
  readonly inputs: InputFile[];
  readonly explicitFolds: boolean;
}

/** Where a report on `source` comes from: this software, now, `commandLine`, the inputs, the backend. */
export function reportProvenance(source: Source, commandLine: readonly string[]): Provenance {
  return {
    software: softwareVersion(),
    createdAt: new Date().toISOString(),
    commandLine,
    inputs: source.inputs,
    ...(source.backend ? { backend: source.backend } : {}),
  };
}

async function loadScores(file: string, opts: ParsedOptions): Promise<Source> {
  const kind = (opts['score-kind'] ?? 'similarity') as string;
  if (!(SCORE_KINDS as readonly string[]).includes(kind)) {
    throw new GabnError('usage', `--score-kind must be ${SCORE_KINDS.join(' or ')}, got '${kind}'`);
  }
  const scores = await readScoresCsv(file, kind as ScoreKind);
  if (scores.groups.length < 2) {
    throw new GabnError('dataset', `only one group ('${scores.groups[0]!.name}') in the scores file`, {
      file,
      expected: 'pairs of at least 2 groups to compare',
    });
  }
  return {
    groups: scores.groups,
    inputs: [{ role: 'scores', path: file, sha256: sha256Hex(scores.bytes), scoreKind: scores.scoreKind }],
    explicitFolds: scores.explicitFolds,
  };
}

/** The hash of what a dataset's audit depends on: its pairs and the bytes of every image they use. */
function datasetHash(dataset: Dataset): string {
  const hash = createHash('sha256');
  for (const p of dataset.pairs)
    hash.update(
      `${p.group}\t${p.fold}\t${p.same ? 1 : 0}\t${dataset.images[p.a]!.relative}\t${dataset.images[p.b]!.relative}\n`,
    );
  for (const i of new Set(dataset.pairs.flatMap((p) => [p.a, p.b])))
    hash.update(readFileSync(dataset.images[i]!.path));
  return hash.digest('hex');
}

export async function loadCheckpointSource(
  checkpoint: string,
  dataset: Dataset,
  opts: ParsedOptions,
  context: CliContext,
): Promise<Source> {
  const { backend } = await loadEngine();
  const embedder = await loadEmbedder(checkpoint);
  try {
    const progress = progressLine(context.stderr, `embedding with ${path.basename(checkpoint)}`);
    const result = await checkpointDistances(embedder, checkpoint, dataset, {
      flip: opts['no-flip'] !== true,
      signal: context.signal,
      onProgress: progress.update,
    });
    progress.done();
    if (result.failed.length > 0) {
      context.stderr.write(
        `${result.failed.length} unreadable images (${result.droppedPairs} pairs left out):\n`,
      );
      for (const f of result.failed) context.stderr.write(`  ${f.file}: ${f.message}\n`);
    }
    if (result.groups.length < 2) {
      throw new GabnError('dataset', `pairs of only ${result.groups.length} group could be audited`, {
        file: dataset.root,
        expected: 'at least 2 groups',
      });
    }
    return {
      backend,
      groups: result.groups,
      inputs: [
        { role: 'checkpoint', path: path.resolve(checkpoint), sha256: checkpointHash(checkpoint) },
        { role: 'dataset', path: dataset.root, sha256: datasetHash(dataset) },
      ],
      explicitFolds: true,
    };
  } finally {
    embedder.dispose();
  }
}

/**
 * The average face and average gradient attention map of each group under the first checkpoint, for
 * the HTML/PDF report (the paper's Fig. 5), from the first images of each group.
 */
async function averageAttention(
  opts: ParsedOptions,
  noFaces: boolean,
  context: CliContext,
): Promise<HtmlOptions['attention']> {
  const checkpoint = (opts.checkpoint as string[] | undefined)?.[0];
  const perGroup = (opts['attention-images'] as number | undefined) ?? 32;
  if (checkpoint === undefined || typeof opts.data !== 'string' || perGroup === 0) return [];
  if (!(Number.isInteger(perGroup) && perGroup > 0))
    throw new GabnError('usage', `--attention-images ${perGroup} is not a whole number`);
  const embedder = await loadEmbedder(checkpoint);
  try {
    const dataset = loadDataset(opts.data);
    const progress = progressLine(context.stderr, 'attention maps');
    const result = await extractAttention(embedder, dataset, {
      limit: perGroup,
      erase: defaultEraseFor(embedder.inputSize),
      seed: 1,
      signal: context.signal,
      onProgress: progress.update,
    });
    progress.done();
    const scale = Math.max(1, Math.round(224 / embedder.inputSize));
    const out: { group: string; averageFacePng?: Uint8Array; averageGamPng: Uint8Array }[] = [];
    for (const g of result.groups) {
      const max = Math.max(...g.averageMap, 1e-30);
      const map = g.averageMap.map((v) => v / max);
      const grey: RgbImage = {
        ...g.averageFace,
        pixels: new Uint8Array(g.averageFace.pixels.length).fill(128),
      };
      const averageGamPng = await attentionOverlayPng(noFaces ? grey : g.averageFace, map, {
        colormap: 'inferno',
        opacity: 1,
        scale,
      });
      out.push(
        noFaces
          ? { group: g.group, averageGamPng }
          : { group: g.group, averageFacePng: await encodePng(g.averageFace, scale), averageGamPng },
      );
    }
    return out;
  } finally {
    embedder.dispose();
  }
}

/** Where the pairs' distances come from: a scores CSV, or checkpoints' embeddings of a dataset. */
async function loadSources(
  opts: ParsedOptions,
  context: CliContext,
): Promise<{ baseline: Source; candidate: Source | null }> {
  const checkpoints = (opts.checkpoint as string[] | undefined) ?? [];
  if (typeof opts.scores === 'string') {
    if (checkpoints.length > 0) throw new GabnError('usage', '--scores and --checkpoint exclude each other');
    const candidate = typeof opts.compare === 'string' ? await loadScores(opts.compare, opts) : null;
    return { baseline: await loadScores(opts.scores, opts), candidate };
  }
  if (checkpoints.length === 0) {
    throw new GabnError('usage', 'nothing to audit', {
      expected: '--checkpoint C --data DIR, or --scores FILE.csv',
    });
  }
  if (typeof opts.data !== 'string')
    throw new GabnError('usage', '--checkpoint needs --data (an RFW folder or a pairs CSV)');
  if (checkpoints.length > 2)
    throw new GabnError('usage', `${checkpoints.length} checkpoints given`, {
      expected: 'one, or two to compare',
    });
  if (typeof opts.compare === 'string')
    throw new GabnError('usage', '--compare goes with --scores; give a second --checkpoint instead');
  await loadEngine();
  const dataset = loadDataset(opts.data);
  const baseline = await loadCheckpointSource(checkpoints[0]!, dataset, opts, context);
  const candidate =
    checkpoints[1] === undefined ? null : await loadCheckpointSource(checkpoints[1], dataset, opts, context);
  return { baseline, candidate };
}

function outputs(opts: ParsedOptions): string[] {
  const files = (opts.out as string[] | undefined) ?? [];
  if (files.length === 0)
    throw new GabnError('usage', 'no report file given', {
      expected: '--out FILE.json, .csv, .html or .pdf',
    });
  for (const file of files) {
    if (WRITERS[path.extname(file).toLowerCase()] === undefined) {
      throw new GabnError('usage', `cannot tell the report format of '${file}'`, {
        expected: 'a file name ending in .json, .csv, .html or .pdf',
      });
    }
  }
  return files;
}

async function run(args: readonly string[], context: CliContext): Promise<number> {
  const { options: opts, positionals } = parseArgs(args, options);
  if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
  const files = outputs(opts);
  const resamples = (opts.bootstrap as number | undefined) ?? DEFAULT_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 0) {
    throw new GabnError('usage', `--bootstrap must be a whole number >= 0, got ${resamples}`);
  }
  const seed = (opts.seed as number | undefined) ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new GabnError('usage', `--seed must be an integer, got ${seed}`);
  const { baseline: source, candidate } = await loadSources(opts, context);
  const audit = prepareAudit(source.groups, DEFAULT_PROTOCOL);
  let bootstrap: BootstrapResult | null = null;
  if (resamples > 0) {
    bootstrap = await bootstrapFigures(audit, {
      resamples,
      seed,
      signal: context.signal,
      onProgress: progressLine(context.stderr, 'bootstrap').update,
    });
  }
  let comparison: { result: PairedComparison; candidate: InputFile } | null = null;
  if (candidate !== null) {
    if (resamples === 0)
      throw new GabnError('usage', 'comparing two score sets needs bootstrap resamples', {
        expected: '--bootstrap N with N >= 1',
      });
    const result = await pairedBootstrap(audit, prepareAudit(candidate.groups, DEFAULT_PROTOCOL), {
      resamples,
      seed,
      signal: context.signal,
      onProgress: progressLine(context.stderr, 'paired bootstrap').update,
    });
    comparison = { result, candidate: candidate.inputs[0]! };
  }
  const report = buildAuditReport({
    audit,
    bootstrap,
    explicitFolds: source.explicitFolds,
    comparison,
    provenance: reportProvenance(source, ['gabn', 'audit', ...args]),
  });
  const reports = [report];
  const visual = files.some((f) => ['.html', '.pdf'].includes(path.extname(f).toLowerCase()));
  if (candidate !== null && visual) {
    // The side-by-side table needs the second checkpoint's own figures and intervals.
    const candidateAudit = prepareAudit(candidate.groups, DEFAULT_PROTOCOL);
    const candidateBootstrap =
      resamples > 0
        ? await bootstrapFigures(candidateAudit, {
            resamples,
            seed,
            signal: context.signal,
            onProgress: progressLine(context.stderr, 'bootstrap (second)').update,
          })
        : null;
    reports.push(
      buildAuditReport({
        audit: candidateAudit,
        bootstrap: candidateBootstrap,
        explicitFolds: candidate.explicitFolds,
        provenance: { ...report.provenance, inputs: candidate.inputs },
      }),
    );
  }
  if (context.signal.aborted) throw new GabnError('cancelled', 'audit cancelled; no report written');
  const noFaces = opts['no-faces'] === true;
  const htmlOptions: HtmlOptions = {
    noFaces,
    labels: [source, ...(candidate ? [candidate] : [])].map((s) => path.basename(s.inputs[0]!.path)),
    ...(visual ? { attention: await averageAttention(opts, noFaces, context) } : {}),
  };
  for (const file of files) await WRITERS[path.extname(file).toLowerCase()]!(file, reports, htmlOptions);
  const summary = report.groups
    .map((g) => `  ${g.name}: ${g.accuracy.value?.toFixed(2)}% ${interval(g.accuracy.interval)}`)
    .join('\n');
  const o = report.overall;
  context.stdout.write(
    `${summary}\n  Avg ${o.average.value?.toFixed(2)}  STD ${o.std.value?.toFixed(2)} ${interval(o.std.interval)}  SER ${o.ser.value?.toFixed(2) ?? 'inf'} ${interval(o.ser.interval)}\n`,
  );
  const c = report.comparison;
  if (c !== null) {
    const line = (name: string, d: typeof c.std) =>
      `  ${name} B − A ${d.observed?.toFixed(3) ?? 'n/a'} ${interval(d.interval)}, p = ${d.pValue.toFixed(4)}: ${d.fairer ? 'B is fairer' : 'no evidence that B is fairer'}`;
    context.stdout.write(`compared with ${c.candidate.path}\n${line('STD', c.std)}\n${line('SER', c.ser)}\n`);
  }
  context.stdout.write(`wrote ${files.join(', ')}\n`);
  return 0;
}

function interval(i: { lower: number | null; upper: number | null } | null): string {
  if (i === null) return '';
  const f = (v: number | null) => (v === null ? 'inf' : v.toFixed(2));
  return `[${f(i.lower)}, ${f(i.upper)}]`;
}

export const auditCommand: CliCommand = {
  path: ['audit'],
  summary: 'per-group verification accuracy and fairness (STD, SER, FDR, GARBE) with intervals',
  usage: `gabn audit --checkpoint C [--checkpoint C2] --data RFW_DIR [--no-flip] [--bootstrap N] [--seed S] --out FILE.{json,csv,html,pdf}
gabn audit --scores FILE.csv [--score-kind similarity|distance] [--compare B.csv] [--bootstrap N] [--seed S] --out FILE.{json,csv,html,pdf}

Runs insightface's 10-fold verification protocol per group, the paper's Avg/STD/SER, and beyond the
paper: FMR/FNMR at one global threshold per pooled target FMR (1e-3, 1e-2), FDR, GARBE, max/min
ratios, TAR@FAR, ROC/DET points, with seeded bootstrap 95% intervals. See docs/metrics.md.

The scores file has a header group,same,score[,fold]: same is 1/0 or true/false; score is a cosine
similarity unless --score-kind distance; without a fold column each group is split in file order
into 10 contiguous folds. --compare takes a second scores file on the same pairs (same groups,
same flags, same order) and says, by a paired bootstrap, whether its STD and SER are lower.

A checkpoint is audited on the dataset's pairs with its folds: embeddings of each aligned image plus
its mirror image, L2-normalised, compared by squared Euclidean distance. Embeddings are cached per
checkpoint and image ($GABN_CACHE_DIR, default ~/.cache/gabn-studio), so a second audit is fast. A
second --checkpoint is compared with the first on the same pairs, like --compare.

Options:
${formatOptions(options)}`,
  run,
};
