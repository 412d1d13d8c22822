/**
 * `gabn audit`: per-group verification accuracy and fairness figures with bootstrap intervals,
 * written as a report. Parses the options into an audit request and prints; the audit itself is
 * the use case in main/usecases/audit.
 */
import { GabnError } from '../base/errors.ts';
import { loadEngine } from '../engine/index.ts';
import { DEFAULT_RESAMPLES, DEFAULT_SEED } from '../eval/bootstrap.ts';
import { SCORE_KINDS, type ScoreKind } from '../eval/score-kind.ts';
import type { AuditReport } from '../report/report-model.ts';
import { type AuditOutcome, type AuditRequest, runAudit } from '../usecases/audit/run-audit.ts';
import { formatOptions, type ParsedOptions, parseArgs } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';
import { phasedProgress } from './progress.ts';

const options = {
  checkpoint: {
    type: 'strings',
    description: 'a checkpoint to audit on --data (give more to test whether each is fairer than the first)',
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
  'target-fmr': {
    type: 'strings',
    description: 'a pooled target FMR that sets a global threshold (repeatable; default 0.001 and 0.01)',
  },
  'attention-images': {
    type: 'number',
    description:
      'HTML/PDF of a checkpoint: images per group for the average attention maps (default 32; 0: none)',
  },
} as const;

function targetFmr(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw new GabnError('usage', `--target-fmr ${text} is not a number`, {
      expected: 'a rate such as 0.001',
    });
  return value;
}

/** The request the options describe. */
export function auditRequestOf(o: ParsedOptions, commandLine: readonly string[]): AuditRequest {
  const checkpoints = (o.checkpoint as string[] | undefined) ?? [];
  const kind = (o['score-kind'] ?? 'similarity') as string;
  if (!(SCORE_KINDS as readonly string[]).includes(kind)) {
    throw new GabnError('usage', `--score-kind must be ${SCORE_KINDS.join(' or ')}, got '${kind}'`);
  }
  if (typeof o.compare === 'string' && typeof o.scores !== 'string')
    throw new GabnError('usage', '--compare goes with --scores; give a second --checkpoint instead');
  const scores =
    typeof o.scores === 'string' ? [o.scores, ...(typeof o.compare === 'string' ? [o.compare] : [])] : [];
  return {
    ...(scores.length > 0 ? { scores, scoreKind: kind as ScoreKind } : {}),
    ...(checkpoints.length > 0 ? { checkpoints } : {}),
    ...(typeof o.data === 'string' ? { data: o.data } : {}),
    flip: o['no-flip'] !== true,
    ...(o.bootstrap === undefined ? {} : { bootstrap: o.bootstrap as number }),
    ...(o.seed === undefined ? {} : { seed: o.seed as number }),
    out: (o.out as string[] | undefined) ?? [],
    noFaces: o['no-faces'] === true,
    ...(o['attention-images'] === undefined ? {} : { attentionImages: o['attention-images'] as number }),
    ...(o['target-fmr'] === undefined ? {} : { targetFmrs: (o['target-fmr'] as string[]).map(targetFmr) }),
    commandLine,
  };
}

function interval(i: { lower: number | null; upper: number | null } | null): string {
  if (i === null) return '';
  const f = (v: number | null) => (v === null ? 'inf' : v.toFixed(2));
  return `[${f(i.lower)}, ${f(i.upper)}]`;
}

/** The figures a person reads first: per-group accuracy, Avg, STD, SER, and the comparison. */
export function auditSummary(report: AuditReport): string {
  const groups = report.groups
    .map((g) => `  ${g.name}: ${g.accuracy.value?.toFixed(2)}% ${interval(g.accuracy.interval)}`)
    .join('\n');
  const o = report.overall;
  let text = `${groups}\n  Avg ${o.average.value?.toFixed(2)}  STD ${o.std.value?.toFixed(2)} ${interval(o.std.interval)}  SER ${o.ser.value?.toFixed(2) ?? 'inf'} ${interval(o.ser.interval)}\n`;
  const c = report.comparison;
  if (c !== null) {
    const line = (name: string, d: typeof c.std) =>
      `  ${name} B − A ${d.observed?.toFixed(3) ?? 'n/a'} ${interval(d.interval)}, p = ${d.pValue.toFixed(4)}: ${d.fairer ? 'B is fairer' : 'no evidence that B is fairer'}`;
    text += `compared with ${c.candidate.path}\n${line('STD', c.std)}\n${line('SER', c.ser)}\n`;
  }
  return text;
}

/** Unreadable images of each source, as the audit left them out. */
export function reportFailures(outcome: AuditOutcome, context: CliContext): void {
  for (const source of outcome.sources) {
    if (source.failed.length === 0) continue;
    context.stderr.write(
      `${source.label}: ${source.failed.length} unreadable images (${source.droppedPairs} pairs left out):\n`,
    );
    for (const f of source.failed) context.stderr.write(`  ${f.file}: ${f.message}\n`);
  }
}

async function run(args: readonly string[], context: CliContext): Promise<number> {
  const { options: o, positionals } = parseArgs(args, options);
  if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
  const request = auditRequestOf(o, ['gabn', 'audit', ...args]);
  if (request.checkpoints !== undefined) await loadEngine();
  const progress = phasedProgress(context.stderr);
  const outcome = await runAudit(request, {
    signal: context.signal,
    onProgress: progress.update,
    onLog: (line) => {
      progress.done();
      context.stderr.write(`${line}\n`);
    },
  });
  progress.done();
  reportFailures(outcome, context);
  context.stdout.write(auditSummary(outcome.reports[0]!));
  context.stdout.write(`wrote ${outcome.files.join(', ')}\n`);
  return 0;
}

export const auditCommand: CliCommand = {
  path: ['audit'],
  summary: 'per-group verification accuracy and fairness (STD, SER, FDR, GARBE) with intervals',
  usage: `gabn audit --checkpoint C [--checkpoint C2 ...] --data RFW_DIR [--no-flip] [--bootstrap N] [--seed S] [--target-fmr F ...] --out FILE.{json,csv,html,pdf}
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
second --checkpoint is compared with the first on the same pairs, like --compare; with more (up to
8), each is compared with the first and the HTML/PDF report shows them side by side like the paper's
Table 4 (JSON and CSV hold the first, with its comparison with the second).

Options:
${formatOptions(options)}`,
  run,
};
