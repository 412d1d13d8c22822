/** `gabn embed`: the embeddings of a dataset under a checkpoint, as .npy or .csv with a JSON side file. */
import { GabnError } from '../base/errors.ts';
import { embedDataset } from '../usecases/embed/embed-dataset.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { progressLine } from './progress.ts';

const USAGE = 'gabn embed --checkpoint M.gabn --data D --out E.npy|E.csv [--raw] [--batch N]';

const options = {
  checkpoint: { type: 'string', description: 'the checkpoint (<name>.gabn)' },
  data: { type: 'string', description: 'the dataset (any format gabn data check reads)' },
  out: { type: 'string', description: 'E.npy (float32 [images, D]) or E.csv; E.npy.json names the rows' },
  raw: {
    type: 'boolean',
    description: "the aligned image's embedding alone, without the mirror image's (the audit adds it)",
  },
  batch: { type: 'number', description: 'images per forward pass (default 16)' },
} as const;

export const embedCommand: CliCommand = {
  path: ['embed'],
  summary: 'write the embeddings of every image of a dataset (.npy or .csv, with a JSON file of image ids)',
  usage: `${USAGE}\n\nEmbeds every image as the audit does (aligned to the ArcFace template where the dataset has\nlandmarks, plus the mirror image's embedding unless --raw), not L2-normalised. The side file\n<out>.json lists, row by row, each image's id, path, identity and group, and the images that could\nnot be read. Both files are written atomically.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: opts, positionals } = parseArgs(args, options);
    if (positionals.length > 0)
      throw new GabnError('usage', `unexpected argument '${positionals[0]}'`, { expected: USAGE });
    for (const name of ['checkpoint', 'data', 'out'] as const) {
      if (typeof opts[name] !== 'string' || opts[name] === '') {
        throw new GabnError('usage', `gabn embed needs --${name}`, { expected: USAGE });
      }
    }
    const batch = opts.batch;
    if (batch !== undefined && !(Number.isInteger(batch) && (batch as number) >= 1)) {
      throw new GabnError('usage', `--batch is ${String(batch)}`, { expected: 'a positive integer' });
    }
    const progress = progressLine(context.stderr, 'embedding');
    const outcome = await embedDataset(
      {
        checkpoint: opts.checkpoint as string,
        data: opts.data as string,
        out: opts.out as string,
        raw: opts.raw === true,
        ...(batch === undefined ? {} : { batchSize: batch as number }),
      },
      { signal: context.signal, onProgress: (done, total) => progress.update(done, total) },
    );
    progress.done();
    context.stdout.write(
      `wrote ${outcome.out} (${outcome.images} x ${outcome.embeddingSize} float32) and ${outcome.sideFile}` +
        `${outcome.failed.length > 0 ? `\n${outcome.failed.length} image(s) could not be read: listed in the side file` : ''}\n`,
    );
    return 0;
  },
};
