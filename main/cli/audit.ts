/**
 * `gabn audit`: per-group verification accuracy and fairness figures with bootstrap intervals,
 * written as a report. The pairs' scores come from a source; today that is a scores CSV from any
 * framework (--scores). Checkpoint audits (--checkpoint with --data) will be a second source that
 * yields the same per-group distances, so everything after `loadSource` stays as it is.
 */
import path from 'node:path';
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
import { readScoresCsv, SCORE_KINDS, type ScoreKind } from '../eval/scores-csv.ts';
import { buildAuditReport } from '../report/audit-report.ts';
import { writeCsvReport } from '../report/csv.ts';
import { writeJsonReport } from '../report/json.ts';
import { sha256Hex, softwareVersion } from '../report/provenance.ts';
import type { AuditReport, InputFile } from '../report/report-model.ts';
import { formatOptions, type ParsedOptions, parseArgs } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';

const options = {
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
  out: { type: 'strings', description: 'report file, .json or .csv (repeat for both)' },
} as const;

const WRITERS: Record<string, (file: string, report: AuditReport) => Promise<void>> = {
  '.json': writeJsonReport,
  '.csv': writeCsvReport,
};

interface Source {
  readonly groups: GroupPairs[];
  readonly inputs: InputFile[];
  readonly explicitFolds: boolean;
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

/** Where the pairs' distances come from. Checkpoint audits (--checkpoint, --data) will branch here. */
async function loadSource(opts: ParsedOptions): Promise<Source> {
  if (typeof opts.scores === 'string') return loadScores(opts.scores, opts);
  throw new GabnError('usage', 'checkpoint audits are not available yet; audit a scores file with --scores', {
    expected: 'gabn audit --scores FILE.csv --out FILE.json',
  });
}

function outputs(opts: ParsedOptions): string[] {
  const files = (opts.out as string[] | undefined) ?? [];
  if (files.length === 0)
    throw new GabnError('usage', 'no report file given', { expected: '--out FILE.json or --out FILE.csv' });
  for (const file of files) {
    if (WRITERS[path.extname(file).toLowerCase()] === undefined) {
      throw new GabnError('usage', `cannot tell the report format of '${file}'`, {
        expected: 'a file name ending in .json or .csv',
      });
    }
  }
  return files;
}

function progressPrinter(
  stderr: NodeJS.WritableStream,
  label: string,
): (done: number, total: number) => void {
  const start = Date.now();
  const tty = (stderr as NodeJS.WriteStream).isTTY === true;
  let lastTenth = -1;
  return (done, total) => {
    const elapsed = (Date.now() - start) / 1000;
    const eta = done === 0 ? 0 : (elapsed / done) * (total - done);
    const line = `${label} ${done}/${total} (${Math.floor((100 * done) / total)}%), ${elapsed.toFixed(1)} s elapsed, ETA ${eta.toFixed(1)} s`;
    if (tty) {
      stderr.write(`\r${line}${done === total ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor((10 * done) / total);
    if (tenth !== lastTenth) {
      lastTenth = tenth;
      stderr.write(`${line}\n`);
    }
  };
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
  const source = await loadSource(opts);
  const audit = prepareAudit(source.groups, DEFAULT_PROTOCOL);
  let bootstrap: BootstrapResult | null = null;
  if (resamples > 0) {
    bootstrap = await bootstrapFigures(audit, {
      resamples,
      seed,
      signal: context.signal,
      onProgress: progressPrinter(context.stderr, 'bootstrap'),
    });
  }
  let comparison: { result: PairedComparison; candidate: InputFile } | null = null;
  if (typeof opts.compare === 'string') {
    if (resamples === 0)
      throw new GabnError('usage', '--compare needs bootstrap resamples', {
        expected: '--bootstrap N with N >= 1',
      });
    const candidate = await loadScores(opts.compare, opts);
    const result = await pairedBootstrap(audit, prepareAudit(candidate.groups, DEFAULT_PROTOCOL), {
      resamples,
      seed,
      signal: context.signal,
      onProgress: progressPrinter(context.stderr, 'paired bootstrap'),
    });
    comparison = { result, candidate: candidate.inputs[0]! };
  }
  const report = buildAuditReport({
    audit,
    bootstrap,
    explicitFolds: source.explicitFolds,
    comparison,
    provenance: {
      software: softwareVersion(),
      createdAt: new Date().toISOString(),
      commandLine: ['gabn', 'audit', ...args],
      inputs: source.inputs,
    },
  });
  if (context.signal.aborted) throw new GabnError('cancelled', 'audit cancelled; no report written');
  for (const file of files) await WRITERS[path.extname(file).toLowerCase()]!(file, report);
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
  usage: `gabn audit --scores FILE.csv [--score-kind similarity|distance] [--bootstrap N] [--seed S]
           [--compare B.csv] --out FILE.{json,csv}

Runs insightface's 10-fold verification protocol per group, the paper's Avg/STD/SER, and beyond the
paper: FMR/FNMR at one global threshold per pooled target FMR (1e-3, 1e-2), FDR, GARBE, max/min
ratios, TAR@FAR, ROC/DET points, with seeded bootstrap 95% intervals. See docs/metrics.md.

The scores file has a header group,same,score[,fold]: same is 1/0 or true/false; score is a cosine
similarity unless --score-kind distance; without a fold column each group is split in file order
into 10 contiguous folds. --compare takes a second scores file on the same pairs (same groups,
same flags, same order) and says, by a paired bootstrap, whether its STD and SER are lower.

Options:
${formatOptions(options)}`,
  run,
};
