/**
 * `gabn synth`: writes a synthetic face dataset in the real formats, so the same loaders serve real and
 * synthetic data:
 *   DIR/rfw/test/data|txts/…       the RFW test layout, pairs in 10 folds, true landmarks
 *   DIR/train/<group>/<id>/…       the BUPT layout (identities disjoint from the test set)
 *   DIR/train/manifest.csv         the training images with their true landmarks
 *   DIR/contact-sheet-<group>.png  a grid of faces per group, for people to look at
 *   DIR/synth.json                 generator version, seed, options and group design
 * Deterministic: the same options give byte-identical files. Written through a staged folder, so an
 * interrupted run leaves nothing that looks finished.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { GabnError } from '../../base/errors.ts';
import { createPrng } from '../../base/random.ts';
import { withStagedDirectory } from '../../base/staged-directory.ts';
import { rfwImageName } from '../rfw-lines.ts';
import { type SynthDesignName, synthDesign } from './designs.ts';
import type { GroupDesign } from './groups.ts';
import { drawIdentity, type IdentityParams } from './identity.ts';
import { foldedPairs, identityNames, splitByMix } from './layout.ts';
import { drawNuisance } from './nuisance.ts';
import { renderFace } from './render.ts';

export const GENERATOR_VERSION = 1;

export interface SynthOptions {
  readonly seed: number;
  /** Test identities per group (at least 10: one per fold... and two per fold for negatives). */
  readonly ids: number;
  /** Images per test identity. */
  readonly images: number;
  /** Training identities in all, split between groups by `trainMix`. */
  readonly trainIds: number;
  readonly trainImages: number;
  /** Share of training identities per group, group-a first. */
  readonly trainMix: readonly number[];
  readonly size: number;
  /** Which benchmark (designs.ts); 'default' unless asked. */
  readonly design?: SynthDesignName;
}

export const DEFAULT_SYNTH: SynthOptions = {
  seed: 1,
  ids: 30,
  images: 6,
  trainIds: 200,
  trainImages: 8,
  trainMix: [0.4, 0.3, 0.2, 0.1],
  size: 112,
};

export interface SynthProgress {
  readonly done: number;
  readonly total: number;
}

/** A seed for one part of the dataset, independent of the order in which parts are made. */
function seedFor(base: number, ...parts: number[]): number {
  let h = (base ^ 0x9e3779b9) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p + 0x7f4a7c15), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

const MAX_IDS = 10_000;
const MAX_TRAIN_IDS = 100_000;
/** About a day of rendering at ~100 images a second. */
const MAX_IMAGES = 10_000_000;

export function checkOptions(o: SynthOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.seed) || o.seed < 0) problems.push(`seed ${o.seed} is not a non-negative integer`);
  if (!Number.isInteger(o.ids) || o.ids < 20 || o.ids > MAX_IDS)
    problems.push(
      `--ids ${o.ids}: at least 20 test identities per group are needed (two per fold), at most ${MAX_IDS}`,
    );
  if (!Number.isInteger(o.images) || o.images < 2 || o.images > 9999)
    problems.push(`--images ${o.images}: between 2 and 9999 images per identity`);
  if (!Number.isInteger(o.trainIds) || o.trainIds < 0 || o.trainIds > MAX_TRAIN_IDS)
    problems.push(`--train-ids ${o.trainIds}: between 0 and ${MAX_TRAIN_IDS} training identities`);
  if (!Number.isInteger(o.trainImages) || o.trainImages < 1 || o.trainImages > 9999)
    problems.push(`--train-images ${o.trainImages}: between 1 and 9999`);
  const groups = synthDesign(o.design ?? 'default').groups;
  if (
    o.trainMix.length !== groups.length ||
    o.trainMix.some((m) => !(Number.isFinite(m) && m >= 0)) ||
    o.trainMix.every((m) => m === 0)
  ) {
    problems.push(`--train-mix needs ${groups.length} non-negative shares, not all zero`);
  }
  if (!Number.isInteger(o.size) || o.size < 32 || o.size > 512)
    problems.push(`--size ${o.size}: between 32 and 512 pixels`);
  // Each option in range can still multiply into a job of days: the total is bounded too.
  const total = groups.length * o.ids * o.images + o.trainIds * o.trainImages;
  if (problems.length === 0 && total > MAX_IMAGES) {
    problems.push(
      `${total.toLocaleString('en-US')} images in all (${groups.length} groups × --ids × --images + --train-ids × --train-images), more than the ${MAX_IMAGES.toLocaleString('en-US')} (about a day of rendering) allowed`,
    );
  }
  if (problems.length > 0)
    throw new GabnError('usage', `invalid synthetic dataset options: ${problems.join('; ')}`);
}

interface Person {
  readonly group: GroupDesign;
  readonly name: string;
  readonly params: IdentityParams;
  readonly seed: number;
}

async function jpeg(pixels: Uint8Array, size: number): Promise<Buffer> {
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width: size, height: size, channels: 3 },
  })
    .jpeg({ quality: 92, mozjpeg: false })
    .toBuffer();
}

/** Runs `work` over `items` with a few in flight (sharp renders off the main thread). */
async function inPool<T>(
  items: readonly T[],
  inFlight: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let stop = false;
  const runners = Array.from({ length: inFlight }, async () => {
    while (next < items.length) {
      if (signal?.aborted || stop)
        throw new GabnError('cancelled', 'synthetic data generation was cancelled');
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        stop = true;
        throw error;
      }
    }
  });
  // Wait for every runner before failing, so nothing is still writing when the caller cleans up.
  const settled = await Promise.allSettled(runners);
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

export async function generateSyntheticDataset(
  out: string,
  options: SynthOptions,
  control: { force?: boolean; signal?: AbortSignal; onProgress?: (p: SynthProgress) => void } = {},
): Promise<{ images: number; directory: string }> {
  checkOptions(options);
  return withStagedDirectory(out, { existing: control.force ? 'replace' : 'refuse' }, async (staging) => ({
    images: await writeDataset(staging, options, control),
    directory: path.resolve(out),
  }));
}

async function writeDataset(
  root: string,
  o: SynthOptions,
  control: { signal?: AbortSignal; onProgress?: (p: SynthProgress) => void },
): Promise<number> {
  const design = synthDesign(o.design ?? 'default');
  const names = createPrng(seedFor(o.seed, 1));
  const taken = new Set<string>();
  const trainCounts = splitByMix(o.trainIds, o.trainMix);
  const test: Person[] = [];
  const train: Person[] = [];
  design.groups.forEach((group, g) => {
    const testNames = identityNames(names, o.ids, taken);
    const trainNames = identityNames(names, trainCounts[g]!, taken);
    testNames.forEach((name, i) => {
      const seed = seedFor(o.seed, 2, g, i);
      test.push({ group, name, params: drawIdentity(createPrng(seed), group), seed });
    });
    trainNames.forEach((name, i) => {
      const seed = seedFor(o.seed, 3, g, i);
      train.push({ group, name, params: drawIdentity(createPrng(seed), group), seed });
    });
  });
  const jobs: { person: Person; number: number; file: string; split: 'test' | 'train' }[] = [];
  for (const person of test) {
    for (let n = 1; n <= o.images; n++) {
      jobs.push({
        person,
        number: n,
        split: 'test',
        file: path.join(
          root,
          'rfw',
          'test',
          'data',
          person.group.name,
          person.name,
          rfwImageName(person.name, n),
        ),
      });
    }
  }
  for (const person of train) {
    for (let n = 1; n <= o.trainImages; n++) {
      jobs.push({
        person,
        number: n,
        split: 'train',
        file: path.join(root, 'train', person.group.name, person.name, rfwImageName(person.name, n)),
      });
    }
  }
  const landmarks = new Map<string, readonly number[]>();
  const sheetFaces = new Map<string, Uint8Array>();
  let done = 0;
  await inPool(
    jobs,
    4,
    async (job) => {
      const prng = createPrng(seedFor(job.person.seed, job.number));
      const nuisance = drawNuisance(prng, job.split === 'test' ? design.testPhotos : design.trainPhotos);
      const face = await renderFace(
        job.person.params,
        nuisance,
        job.person.group.featureContrast,
        o.size,
        job.person.seed,
        prng,
      );
      mkdirSync(path.dirname(job.file), { recursive: true });
      writeFileSync(job.file, await jpeg(face.pixels, o.size));
      landmarks.set(job.file, face.landmarks);
      if (job.split === 'test') sheetFaces.set(job.file, face.pixels);
      done++;
      control.onProgress?.({ done, total: jobs.length });
    },
    control.signal,
  );
  const round = (v: number) => v.toFixed(2);
  for (const [g, group] of design.groups.entries()) {
    const people = test.filter((p) => p.group === group);
    const txts = path.join(root, 'rfw', 'test', 'txts', group.name);
    mkdirSync(txts, { recursive: true });
    const lmk: string[] = [];
    const images: string[] = [];
    people.forEach((person, label) => {
      for (let n = 1; n <= o.images; n++) {
        const name = rfwImageName(person.name, n);
        const file = path.join(root, 'rfw', 'test', 'data', group.name, person.name, name);
        lmk.push(
          `/test/data/${group.name}/${person.name}/${name}\t${label}\t${landmarks.get(file)!.map(round).join(' ')}`,
        );
        images.push(`${name}\t${label}`);
      }
    });
    const pairs = foldedPairs(
      people.map((p) => p.name),
      o.images,
      createPrng(seedFor(o.seed, 4, g)),
    );
    const pairLines = pairs.lines.map((p) =>
      p.same
        ? `${p.identity}\t${p.first}\t${p.second}`
        : `${p.identity}\t${p.first}\t${p.otherIdentity}\t${p.second}`,
    );
    writeFileSync(path.join(txts, `${group.name}_pairs.txt`), `${pairLines.join('\n')}\n`);
    writeFileSync(path.join(txts, `${group.name}_lmk.txt`), `${lmk.join('\n')}\n`);
    writeFileSync(path.join(txts, `${group.name}_images.txt`), `${images.join('\n')}\n`);
    writeFileSync(
      path.join(txts, `${group.name}_people.txt`),
      `${people.map((p) => `${p.name}\t${o.images}`).join('\n')}\n`,
    );
    await contactSheet(path.join(root, `contact-sheet-${group.name}.png`), people, o, root, sheetFaces);
  }
  const manifest = ['path,identity,group,x1,y1,x2,y2,x3,y3,x4,y4,x5,y5'];
  for (const job of jobs) {
    if (job.split !== 'train') continue;
    const rel = path.relative(path.join(root, 'train'), job.file).split(path.sep).join('/');
    manifest.push(
      `${rel},${job.person.name},${job.person.group.name},${landmarks.get(job.file)!.map(round).join(',')}`,
    );
  }
  mkdirSync(path.join(root, 'train'), { recursive: true });
  writeFileSync(path.join(root, 'train', 'manifest.csv'), `${manifest.join('\n')}\n`);
  writeFileSync(
    path.join(root, 'synth.json'),
    `${JSON.stringify(
      {
        generator: 'gabn-synth',
        version: GENERATOR_VERSION,
        options: o,
        design: design.name,
        groups: design.groups,
        photos: { train: design.trainPhotos, test: design.testPhotos },
        counts: {
          testIdentitiesPerGroup: o.ids,
          trainIdentitiesPerGroup: Object.fromEntries(design.groups.map((g, i) => [g.name, trainCounts[i]])),
          images: jobs.length,
        },
      },
      null,
      2,
    )}\n`,
  );
  return jobs.length;
}

/** Up to 8 identities × 6 images of a group's test set, one identity per row. */
async function contactSheet(
  file: string,
  people: readonly Person[],
  o: SynthOptions,
  root: string,
  faces: Map<string, Uint8Array>,
): Promise<void> {
  const rows = Math.min(8, people.length);
  const cols = Math.min(6, o.images);
  const tile = o.size;
  const composites: OverlayOptions[] = [];
  for (let r = 0; r < rows; r++) {
    const person = people[r]!;
    for (let c = 0; c < cols; c++) {
      const source = path.join(
        root,
        'rfw',
        'test',
        'data',
        person.group.name,
        person.name,
        rfwImageName(person.name, c + 1),
      );
      const pixels = faces.get(source)!;
      composites.push({
        input: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength),
        raw: { width: tile, height: tile, channels: 3 },
        left: c * (tile + 2),
        top: r * (tile + 2),
      });
    }
  }
  await sharp({
    create: {
      width: cols * (tile + 2) - 2,
      height: rows * (tile + 2) - 2,
      channels: 3,
      background: '#202020',
    },
  })
    .composite(composites)
    .png({ compressionLevel: 9 })
    .toFile(file);
}
