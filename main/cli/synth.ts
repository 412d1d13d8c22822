import { GabnError } from '../base/errors.ts';
import { SYNTH_DESIGN_NAMES, type SynthDesignName, synthDesign } from '../data/synth/designs.ts';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../data/synth/generate.ts';
import { GROUP_DESIGNS } from '../data/synth/groups.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { progressLine } from './progress.ts';

const options = {
  out: {
    type: 'string',
    description: 'the folder to write (refused when it exists and is not empty, unless --force)',
  },
  seed: {
    type: 'number',
    description: `random seed (default ${DEFAULT_SYNTH.seed}); the same seed gives byte-identical files`,
  },
  ids: {
    type: 'number',
    description: `test identities per group (default ${DEFAULT_SYNTH.ids}, at least 20)`,
  },
  images: { type: 'number', description: `images per test identity (default ${DEFAULT_SYNTH.images})` },
  'train-ids': {
    type: 'number',
    description: `training identities in all (default ${DEFAULT_SYNTH.trainIds})`,
  },
  'train-images': {
    type: 'number',
    description: `images per training identity (default ${DEFAULT_SYNTH.trainImages})`,
  },
  'train-mix': {
    type: 'string',
    description: `share of training identities per group, e.g. a:0.4,b:0.3,c:0.2,d:0.1 (the default: imbalanced, like real training sets)`,
  },
  size: { type: 'number', description: `image side in pixels (default ${DEFAULT_SYNTH.size})` },
  design: {
    type: 'string',
    description: `the benchmark: ${SYNTH_DESIGN_NAMES.join(' or ')} (default: default; docs/synthetic-faces.md)`,
  },
  force: { type: 'boolean', description: 'replace an existing output folder' },
} as const;

/** `a:0.4,b:0.3,c:0.2,d:0.1` (or `group-a:…`) → shares in group order. */
export function parseMix(text: string): number[] {
  const shares = new Map<string, number>();
  for (const part of text.split(',')) {
    const [key, value] = part.split(':').map((s) => s.trim());
    const group = key?.startsWith('group-') ? key : `group-${key}`;
    const share = Number(value);
    if (
      !GROUP_DESIGNS.some((g) => g.name === group) ||
      value === undefined ||
      !(Number.isFinite(share) && share >= 0)
    ) {
      throw new GabnError('usage', `--train-mix: '${part}' is not a group share`, {
        expected: 'e.g. a:0.4,b:0.3,c:0.2,d:0.1',
      });
    }
    shares.set(group, share);
  }
  return GROUP_DESIGNS.map((g) => shares.get(g.name) ?? 0);
}

export const synthCommand: CliCommand = {
  path: ['synth'],
  summary: 'generate a synthetic face dataset in the RFW and BUPT layouts',
  usage: `gabn synth --out DIR [--seed S] [--ids N] [--images M] [--size PX] [--train-ids N] [--train-images M] [--train-mix a:0.4,b:0.3,c:0.2,d:0.1] [--design default|local-cues] [--force]\n\nWrites DIR/rfw (the RFW test layout with pairs in 10 folds and true landmarks), DIR/train (the\nBUPT layout with manifest.csv, identities disjoint from the test set), a contact sheet per group\nand DIR/synth.json. Groups: ${GROUP_DESIGNS.map((g) => g.name).join(', ')}. See docs/synthetic-faces.md.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0)
      throw new GabnError('usage', `unexpected argument '${positionals[0]}'`, { expected: 'options only' });
    if (typeof o.out !== 'string') throw new GabnError('usage', 'gabn synth needs --out DIR');
    const settings = {
      seed: (o.seed as number | undefined) ?? DEFAULT_SYNTH.seed,
      ids: (o.ids as number | undefined) ?? DEFAULT_SYNTH.ids,
      images: (o.images as number | undefined) ?? DEFAULT_SYNTH.images,
      trainIds: (o['train-ids'] as number | undefined) ?? DEFAULT_SYNTH.trainIds,
      trainImages: (o['train-images'] as number | undefined) ?? DEFAULT_SYNTH.trainImages,
      trainMix: typeof o['train-mix'] === 'string' ? parseMix(o['train-mix']) : DEFAULT_SYNTH.trainMix,
      size: (o.size as number | undefined) ?? DEFAULT_SYNTH.size,
      ...(typeof o.design === 'string' ? { design: synthDesign(o.design).name as SynthDesignName } : {}),
    };
    const progress = progressLine(context.stderr, 'rendering faces');
    const start = Date.now();
    const result = await generateSyntheticDataset(o.out, settings, {
      force: o.force === true,
      signal: context.signal,
      onProgress: (p) => progress.update(p.done, p.total),
    });
    progress.done();
    context.stdout.write(
      `wrote ${result.images} images to ${result.directory} in ${((Date.now() - start) / 1000).toFixed(1)} s\n`,
    );
    return 0;
  },
};
