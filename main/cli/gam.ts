import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { ATTRIBUTION_METHODS, type AttributionMethod } from '../gabn/attribution.ts';
import { parseColormapName } from '../report/figures/colormap.ts';
import { writeAttentionFolder } from '../usecases/attention/attention-folder.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { progressLine } from './progress.ts';

const options = {
  checkpoint: { type: 'string', description: 'the checkpoint (<name>.gabn)' },
  data: { type: 'string', description: 'the dataset (an RFW folder, or any format gabn data check reads)' },
  out: {
    type: 'string',
    description: 'the output folder (refused when it exists and is not empty, unless --force)',
  },
  group: { type: 'strings', description: 'a group to process (repeatable; default all)' },
  limit: {
    type: 'number',
    description: 'at most this many images per group, spread evenly over its identities',
  },
  method: {
    type: 'string',
    description: `${ATTRIBUTION_METHODS.join(', ')} (default: gam with an identity head, else pair-gam)`,
  },
  colormap: { type: 'string', description: 'viridis, inferno, magma, turbo or gray (default inferno)' },
  opacity: { type: 'number', description: 'overlay strength 0..1 (default 0.7)' },
  seed: { type: 'number', description: 'seed of the erasure rectangle sizes and the bootstrap (default 1)' },
  'no-faces': { type: 'boolean', description: 'write statistics and average maps only, no face images' },
  force: { type: 'boolean', description: 'replace an existing output folder' },
} as const;

export const gamCommand: CliCommand = {
  path: ['gam'],
  summary: 'gradient attention maps, erasure masks and per-group attention statistics',
  usage: `gabn gam --checkpoint C --data DIR --out OUT [--group G ...] [--limit N] [--method M] [--colormap NAME] [--no-faces]\n\nWrites OUT/<group>/<image>.png (the face with its map overlaid and its GAM-SFRE rectangles\noutlined), OUT/average-<group>.png (the group's average face beside its average map),\nOUT/average-gam.png (every group's average map), and OUT/attention.json (per group: the fraction of\npixels holding half the attention mass and the map entropy, with 95% bootstrap intervals).\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
    for (const required of ['checkpoint', 'data', 'out'] as const) {
      if (typeof o[required] !== 'string') throw new GabnError('usage', `gabn gam needs --${required}`);
    }
    const method = o.method as string | undefined;
    if (method !== undefined && !(ATTRIBUTION_METHODS as readonly string[]).includes(method)) {
      throw new GabnError('usage', `unknown method '${method}'`, {
        expected: `one of ${ATTRIBUTION_METHODS.join(', ')}`,
      });
    }
    const colormap = parseColormapName((o.colormap as string | undefined) ?? 'inferno');
    const opacity = (o.opacity as number | undefined) ?? 0.7;
    if (!(opacity >= 0 && opacity <= 1))
      throw new GabnError('usage', `--opacity ${opacity} is not in [0, 1]`);
    const limit = o.limit as number | undefined;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1))
      throw new GabnError('usage', `--limit ${limit} is not a positive integer`);
    const progress = progressLine(context.stderr, 'attention maps');
    const summary = await writeAttentionFolder(
      {
        checkpoint: o.checkpoint as string,
        data: o.data as string,
        out: o.out as string,
        ...(o.group ? { groups: o.group as string[] } : {}),
        ...(limit === undefined ? {} : { limit }),
        ...(method === undefined ? {} : { method: method as AttributionMethod }),
        colormap,
        opacity,
        seed: (o.seed as number | undefined) ?? 1,
        faces: o['no-faces'] !== true,
        force: o.force === true,
      },
      { signal: context.signal, onProgress: progress.update },
    );
    progress.done();
    const pct = (v: number | null) => (v === null ? 'n/a' : (100 * v).toFixed(1));
    for (const g of summary.groups) {
      const f = g.massFraction;
      context.stdout.write(
        `${g.group}: ${g.images} images, half the attention on ${pct(f.value)}% of the pixels [${pct(f.interval?.lower ?? null)}, ${pct(f.interval?.upper ?? null)}], entropy ${g.entropy.value?.toFixed(3) ?? 'n/a'}\n`,
      );
    }
    if (summary.unreadableImages.length > 0)
      context.stdout.write(
        `${summary.unreadableImages.length} unreadable images were skipped (listed in attention.json)\n`,
      );
    context.stdout.write(`wrote ${path.resolve(o.out as string)}\n`);
    return 0;
  },
};
