/**
 * The probe set's attention as a run goes (the paper's Fig. 1 b→c: attention spreading over the face
 * as GABN trains): two images per group, chosen once from the validation set (the training set
 * without one), their GAM (Eq. 1-2) under the network as it is before the first step and after every
 * epoch, drawn over the face as PNGs in the run folder, so that the app shows them for any run, one
 * started by `gabn train` included:
 *
 *   attention/strip.json           the probes and, per epoch, its PNGs (relative to the run folder)
 *   attention/face-<k>.png         probe k, aligned at the network's input size
 *   attention/epoch-<e>-<k>.png    its GAM after epoch e (0: before the first step)
 *
 * Eight small images: a fraction of a second beside an epoch. A failure here is logged and never
 * stops the run.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../base/atomic-files.ts';
import { quantileSorted } from '../../base/statistics.ts';
import type { Dataset } from '../../data/dataset.ts';
import { loadAlignedImage } from '../../data/image.ts';
import { tf } from '../../engine/tf.ts';
import { computeAttribution } from '../../gabn/attribution.ts';
import { denormalise, encodePng } from '../../report/figures/attention-figures.ts';
import { overlayAttention } from '../../report/figures/colormap.ts';
import { evenlySpaced } from '../attention/attention-over-dataset.ts';
import type { StripIndex, StripProbe } from './records.ts';
import { log, type TrainingSession } from './session.ts';
import { liveEmbedder } from './validation.ts';

export const STRIP_FOLDER = 'attention';
export const STRIP_INDEX = `${STRIP_FOLDER}/strip.json`;
export const PROBES_PER_GROUP = 2;
/** Where the colours saturate, as the Browse view draws a map by default: a pixel-level GAM is sparse. */
export const STRIP_SATURATION = 0.99;
const OPACITY = 0.6;
/** The PNGs' side in pixels, about (small networks' faces are enlarged, nearest neighbour). */
const SHOWN_SIDE = 112;

/** Two images per group, spread over each group's images: the same every time for the same dataset. */
export function probeImages(dataset: Dataset): number[] {
  return dataset.groups.flatMap((group) =>
    evenlySpaced(
      dataset.images.flatMap((image, i) => (image.group === group ? [i] : [])),
      PROBES_PER_GROUP,
    ),
  );
}

/** The map rescaled so that its colours saturate at its `q` quantile (values above it clamp to 1). */
export function saturate(map: Float32Array, q: number): Float32Array {
  const top = quantileSorted(Float32Array.from(map).sort(), q);
  if (!(top > 0)) return map;
  return map.map((v) => Math.min(1, v / top));
}

function readIndex(file: string): StripIndex | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StripIndex;
  } catch {
    return undefined;
  }
}

/** Computes and writes the strip of `epoch` (0: before the first step). Never throws. */
export async function recordAttentionStrip(session: TrainingSession, epoch: number): Promise<void> {
  try {
    await writeStrip(session, epoch);
  } catch (error) {
    log(session, `the attention strip of epoch ${epoch} could not be drawn: ${(error as Error).message}`);
  }
}

async function writeStrip(session: TrainingSession, epoch: number): Promise<void> {
  const { runDir, config, state, set } = session;
  const dataset = session.val ?? set.dataset;
  const size = config.model.inputSize;
  const chosen = probeImages(dataset);
  if (chosen.length === 0) return;
  const faces = await Promise.all(chosen.map((i) => loadAlignedImage(dataset.images[i]!, size)));
  const pixels = new Float32Array(faces.length * size * size * 3);
  faces.forEach((face, k) => {
    pixels.set(face, k * size * size * 3);
  });
  const images = tf.tensor4d(pixels, [faces.length, size, size, 3]);
  let maps: Float32Array[];
  try {
    const model = liveEmbedder(state.train, set, config).model;
    maps = (await computeAttribution('gam', model, images, { scale: config.gamScale })).maps;
  } finally {
    images.dispose();
  }
  mkdirSync(path.join(runDir, STRIP_FOLDER), { recursive: true });
  const scale = Math.max(1, Math.round(SHOWN_SIDE / size));
  const probes: StripProbe[] = [];
  const files: string[] = [];
  for (const [k, index] of chosen.entries()) {
    const image = dataset.images[index]!;
    const face = denormalise(faces[k]!, size, size);
    const faceFile = `${STRIP_FOLDER}/face-${k}.png`;
    if (!existsSync(path.join(runDir, faceFile)))
      await writeFileAtomic(path.join(runDir, faceFile), await encodePng(face, scale));
    const shown = overlayAttention(face.pixels, saturate(maps[k]!, STRIP_SATURATION), 'inferno', OPACITY);
    const mapFile = `${STRIP_FOLDER}/epoch-${epoch}-${k}.png`;
    await writeFileAtomic(
      path.join(runDir, mapFile),
      await encodePng({ width: size, height: size, pixels: shown }, scale),
    );
    probes.push({ group: image.group, identity: image.identity, relative: image.relative, face: faceFile });
    files.push(mapFile);
  }
  const file = path.join(runDir, STRIP_INDEX);
  const earlier = readIndex(file)?.epochs.filter((e) => e.epoch !== epoch) ?? [];
  const index: StripIndex = {
    version: 1,
    method: 'gam',
    inputSize: size,
    source: session.val ? 'validation' : 'training',
    saturation: STRIP_SATURATION,
    probes,
    epochs: [...earlier, { epoch, maps: files }].sort((a, b) => a.epoch - b.epoch),
  };
  await writeFileAtomic(file, `${JSON.stringify(index, null, 2)}\n`);
}
