/**
 * `gabn gam`'s work as a use case: every selected image's map and GAM-SFRE rectangles drawn over its
 * face, each group's average face beside its average map, every group's average map side by side,
 * and attention.json (per group: the share of pixels holding half the attention and the map's
 * entropy, with 95% bootstrap intervals), written as a whole folder or not at all.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { withStagedDirectory } from '../../base/staged-directory.ts';
import { softwareVersion } from '../../base/version.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { loadEngine } from '../../engine/index.ts';
import type { AttributionMethod } from '../../gabn/attribution.ts';
import { defaultEraseFor } from '../../gabn/masks.ts';
import { loadEmbedder } from '../../models/embedder.ts';
import {
  attentionOverlayPng,
  averageAttentionPng,
  displayScale,
  encodePng,
  type RgbImage,
} from '../../report/figures/attention-figures.ts';
import type { ColormapName } from '../../report/figures/colormap.ts';
import { type Estimate, toEstimate } from '../../report/report-model.ts';
import { extractAttention } from './attention-over-dataset.ts';

export interface AttentionFolderRequest {
  readonly checkpoint: string;
  readonly data: string;
  readonly out: string;
  /** Groups to process (default all). */
  readonly groups?: readonly string[];
  /** At most this many images per group, spread evenly over the group. */
  readonly limit?: number;
  /** Default: the GAM with an identity head, else the pair GAM. */
  readonly method?: AttributionMethod;
  readonly colormap: ColormapName;
  /** Overlay strength of the per-image maps, 0..1. */
  readonly opacity: number;
  /** Seed of the erasure rectangle sizes and the bootstrap. */
  readonly seed: number;
  /** Draw faces (false: statistics and average maps over grey only). */
  readonly faces: boolean;
  /** Replace an existing output folder. */
  readonly force: boolean;
}

export interface AttentionSummary {
  readonly schemaVersion: 1;
  readonly checkpoint: { readonly path: string; readonly architecture: string };
  readonly dataset: { readonly path: string; readonly format: string };
  readonly method: AttributionMethod;
  readonly inputSize: number;
  readonly erase: { readonly count: number; readonly maxHeight: number; readonly maxWidth: number };
  readonly seed: number;
  readonly backend: string;
  readonly softwareVersion: string;
  readonly createdAt: string;
  readonly groups: readonly {
    readonly group: string;
    readonly images: number;
    readonly emptyMaps: number;
    readonly massFraction: Estimate;
    readonly entropy: Estimate;
    /** The share of attention on the network's stride lattice (where its stride is known). */
    readonly latticeShare?: Estimate;
    /** The share a uniform map puts on that lattice. */
    readonly latticeArea?: number;
  }[];
  readonly unreadableImages: readonly { file: string; message: string }[];
}

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

/** The file name of an image's overlay: its identity and file name, so names stay unique in a group. */
function overlayName(identity: string, file: string): string {
  const base = path.basename(file).replace(/\.[^.]+$/, '');
  return `${identity && !base.startsWith(identity) ? `${identity}_` : ''}${base}.png`;
}

export async function writeAttentionFolder(
  request: AttentionFolderRequest,
  hooks: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<AttentionSummary> {
  const engine = await loadEngine();
  const dataset = loadDataset(request.data);
  const embedder = await loadEmbedder(request.checkpoint);
  const erase = defaultEraseFor(embedder.inputSize);
  const scale = displayScale(embedder.inputSize);
  const { colormap, opacity, faces } = request;
  try {
    return await withStagedDirectory(
      request.out,
      { existing: request.force ? 'replace' : 'refuse' },
      async (staging) => {
        const result = await extractAttention(embedder, dataset, {
          ...(request.groups ? { groups: request.groups } : {}),
          ...(request.limit === undefined ? {} : { limit: request.limit }),
          ...(request.method === undefined ? {} : { method: request.method }),
          erase,
          seed: request.seed,
          ...(hooks.signal ? { signal: hooks.signal } : {}),
          ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
          onImage: async (image, face, map, rects) => {
            if (!faces) return;
            const dir = path.join(staging, image.group);
            mkdirSync(dir, { recursive: true });
            writeFileSync(
              path.join(dir, overlayName(image.identity, image.path)),
              await attentionOverlayPng(face, map, { colormap, opacity, rects, scale }),
            );
          },
        });
        const panels: RgbImage[] = [];
        for (const g of result.groups) {
          const overlay = await decodePng(
            await averageAttentionPng(g.averageFace, g.averageMap, { colormap, noFaces: !faces, scale }),
          );
          panels.push(overlay);
          const pair = faces ? [await decodePng(await encodePng(g.averageFace, scale)), overlay] : [overlay];
          writeFileSync(path.join(staging, `average-${g.group}.png`), await sideBySide(pair));
        }
        writeFileSync(path.join(staging, 'average-gam.png'), await sideBySide(panels));
        const summary: AttentionSummary = {
          schemaVersion: 1,
          checkpoint: { path: path.resolve(request.checkpoint), architecture: embedder.architecture },
          dataset: { path: dataset.root, format: dataset.format },
          method: result.method,
          inputSize: result.inputSize,
          erase,
          seed: request.seed,
          backend: engine.backend,
          softwareVersion: softwareVersion().version,
          createdAt: new Date().toISOString(),
          groups: result.groups.map((g) => ({
            group: g.group,
            images: g.images,
            emptyMaps: g.empty,
            massFraction: toEstimate(g.massFraction.mean, g.massFraction.interval),
            entropy: toEstimate(g.entropy.mean, g.entropy.interval),
            ...(g.lattice
              ? {
                  latticeShare: toEstimate(g.lattice.share.mean, g.lattice.share.interval),
                  latticeArea: g.lattice.area,
                }
              : {}),
          })),
          unreadableImages: result.failed,
        };
        writeFileSync(path.join(staging, 'attention.json'), `${JSON.stringify(summary, null, 2)}\n`);
        return summary;
      },
    );
  } finally {
    embedder.dispose();
  }
}
