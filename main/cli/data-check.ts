import { GabnError } from '../base/errors.ts';
import { checkDataset, type DatasetCheck, formatProblem } from '../data/index.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { progressLine } from './progress.ts';

const options = {
  json: { type: 'boolean', description: 'print the report as JSON' },
  'no-images': {
    type: 'boolean',
    description: 'do not decode the images (faster; checks only the files and lines)',
  },
} as const;

function report(check: DatasetCheck): string {
  const lines = [
    `${check.target}: ${check.format} dataset, ${check.groups.length} group${check.groups.length === 1 ? '' : 's'}`,
  ];
  for (const g of check.groups) {
    lines.push(
      `  ${g.group}: ${g.identities} identities, ${g.images} images (${g.imagesWithLandmarks} with landmarks), ${g.pairs} pairs in ${g.folds} folds`,
    );
    if (g.folds > 0) {
      const folds = g.perFold.map((f) => `${f.positives}+/${f.negatives}-`).join(' ');
      lines.push(`    per fold: ${folds}`);
    }
  }
  if (check.identitiesInSeveralGroups.length > 0) {
    lines.push(`identities in several groups (${check.identitiesInSeveralGroups.length}):`);
    for (const i of check.identitiesInSeveralGroups) lines.push(`  ${i.identity}: ${i.groups.join(', ')}`);
  }
  lines.push(
    check.problems.length === 0
      ? 'no problems'
      : `${check.errors} error${check.errors === 1 ? '' : 's'}, ${check.warnings} warning${check.warnings === 1 ? '' : 's'}:`,
  );
  for (const p of check.problems) lines.push(`  ${formatProblem(p)}`);
  return `${lines.join('\n')}\n`;
}

export const dataCheckCommand: CliCommand = {
  path: ['data', 'check'],
  summary: 'validate a dataset and report every problem at once',
  usage: `gabn data check DIR|FILE.csv [--json] [--no-images]\n\nRecognises an RFW test set, a BUPT training set, a manifest CSV or a pairs CSV, and reports every\nproblem with its file, line and the expected form, plus per group: identities, images, pairs,\nfolds, positives and negatives per fold. Exits 1 when there are errors.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: opts, positionals } = parseArgs(args, options);
    if (positionals.length !== 1)
      throw new GabnError('usage', 'gabn data check takes one dataset', {
        expected: 'gabn data check DIR|FILE.csv',
      });
    const progress = progressLine(context.stderr, 'decoding images');
    const check = await checkDataset(positionals[0]!, {
      decodeImages: !opts['no-images'],
      signal: context.signal,
      onProgress: progress.update,
    });
    progress.done();
    context.stdout.write(opts.json ? `${JSON.stringify(check, null, 2)}\n` : report(check));
    return check.errors > 0 ? 1 : 0;
  },
};
