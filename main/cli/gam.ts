import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { GabnError } from '../base/errors.ts';
import { withStagedDirectory } from '../base/staged-directory.ts';
import { softwareVersion } from '../base/version.ts';
import { loadDataset } from '../data/index.ts';
import { loadEngine } from '../engine/index.ts';
import { ATTRIBUTION_METHODS, type AttributionMethod } from '../gabn/attribution.ts';
import { defaultEraseFor } from '../gabn/masks.ts';
import { loadEmbedder } from '../models/embedder.ts';
import { attentionOverlayPng, encodePng, type RgbImage } from '../report/figures/attention-figures.ts';
import { parseColormapName } from '../report/figures/colormap.ts';
import { toEstimate } from '../report/report-model.ts';
import { extractAttention } from '../usecases/attention/attention-over-dataset.ts';
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

function sideBySide(images: RgbImage[]): Promise<Buffer> {
  const width = images.reduce((w, i) => w + i.width + 4, -4);
  const height = Math.max(...images.map((i) => i.height));
  let left = 0;
  const composites = images.map((image) => {
    const input = Buffer.from(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength);
    const item = {
      input,
      raw: { width: image.width, height: image.height, channels: 3 as const },
      left,
      top: 0,
    };
    left += image.width + 4;
    return item;
  });
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toBuffer();
}

async function decodePng(png: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, pixels: new Uint8Array(data) };
}

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
    const seed = (o.seed as number | undefined) ?? 1;
    const faces = o['no-faces'] !== true;
    const engine = await loadEngine();
    const dataset = loadDataset(o.data as string);
    const embedder = await loadEmbedder(o.checkpoint as string);
    const erase = defaultEraseFor(embedder.inputSize);
    const scale = Math.max(1, Math.round(224 / embedder.inputSize));
    const progress = progressLine(context.stderr, 'attention maps');
    try {
      const summary = await withStagedDirectory(
        o.out as string,
        { existing: o.force === true ? 'replace' : 'refuse' },
        async (staging) => {
          const result = await extractAttention(embedder, dataset, {
            ...(o.group ? { groups: o.group as string[] } : {}),
            ...(limit === undefined ? {} : { limit }),
            ...(method === undefined ? {} : { method: method as AttributionMethod }),
            erase,
            seed,
            signal: context.signal,
            onProgress: progress.update,
            onImage: async (image, face, map, rects) => {
              if (!faces) return;
              const dir = path.join(staging, image.group);
              mkdirSync(dir, { recursive: true });
              const base = path.basename(image.path).replace(/\.[^.]+$/, '');
              const name = `${image.identity && !base.startsWith(image.identity) ? `${image.identity}_` : ''}${base}.png`;
              writeFileSync(
                path.join(dir, name),
                await attentionOverlayPng(face, map, { colormap, opacity, rects, scale }),
              );
            },
          });
          const panels: RgbImage[] = [];
          for (const g of result.groups) {
            const max = Math.max(...g.averageMap, 1e-30);
            const normalised = g.averageMap.map((v) => v / max);
            const blank: RgbImage = {
              ...g.averageFace,
              pixels: new Uint8Array(g.averageFace.pixels.length).fill(128),
            };
            const underlay = faces ? g.averageFace : blank;
            const overlay = await decodePng(
              await attentionOverlayPng(underlay, normalised, { colormap, opacity: 1, scale }),
            );
            panels.push(overlay);
            const pair = faces
              ? [await decodePng(await encodePng(g.averageFace, scale)), overlay]
              : [overlay];
            writeFileSync(path.join(staging, `average-${g.group}.png`), await sideBySide(pair));
          }
          writeFileSync(path.join(staging, 'average-gam.png'), await sideBySide(panels));
          const json = {
            schemaVersion: 1,
            checkpoint: { path: path.resolve(o.checkpoint as string), architecture: embedder.architecture },
            dataset: { path: dataset.root, format: dataset.format },
            method: result.method,
            inputSize: result.inputSize,
            erase,
            seed,
            backend: engine.backend,
            softwareVersion: softwareVersion().version,
            createdAt: new Date().toISOString(),
            groups: result.groups.map((g) => ({
              group: g.group,
              images: g.images,
              emptyMaps: g.empty,
              massFraction: toEstimate(g.massFraction.mean, g.massFraction.interval),
              entropy: toEstimate(g.entropy.mean, g.entropy.interval),
            })),
            unreadableImages: result.failed,
          };
          writeFileSync(path.join(staging, 'attention.json'), `${JSON.stringify(json, null, 2)}\n`);
          return json;
        },
      );
      progress.done();
      for (const g of summary.groups) {
        const f = g.massFraction;
        const pct = (v: number | null) => (v === null ? 'n/a' : (100 * v).toFixed(1));
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
    } finally {
      embedder.dispose();
    }
  },
};
