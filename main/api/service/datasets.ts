/**
 * The datasets a client opened (or the workspace holds): each registered once under an id made from
 * its real path, with its summary, its images page by page, and each image's partner for the pair
 * methods.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { readUntrustedFile } from '../../base/untrusted-files.ts';
import type { Dataset, FaceImage } from '../../data/dataset.ts';
import { alignedPixels } from '../../data/image.ts';
import { MAX_IMAGE_BYTES } from '../../data/list-files.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { partnerIndex } from '../../data/partners.ts';
import { encodePng } from '../../report/figures/attention-figures.ts';
import { resolveContained } from '../containment.ts';
import type {
  DatasetSummary,
  GroupSummary,
  ImageBytes,
  ImageEntry,
  ImagePage,
  ImageQuery,
  ImageRequest,
} from '../contract.ts';
import { idOf, realPathOf } from './checkpoints.ts';

export interface OpenDataset {
  readonly summary: DatasetSummary;
  readonly dataset: Dataset;
  /** Each image's partner for the pair methods (first genuine pair, else same identity). */
  readonly partner: (index: number) => number | undefined;
}

export function mimeOf(file: string): string {
  const ext = path.extname(file).toLowerCase();
  return ext === '.png'
    ? 'image/png'
    : ext === '.jpg' || ext === '.jpeg'
      ? 'image/jpeg'
      : 'application/octet-stream';
}

/** Bytes as the API carries them: base64, with a strong validator for HTTP caching. */
export function imageBytes(mime: string, data: Uint8Array): ImageBytes {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { mime, base64: buffer.toString('base64'), etag: createHash('sha1').update(buffer).digest('hex') };
}

export function entryOf(image: FaceImage, id: number): ImageEntry {
  return { id, relative: image.relative, identity: image.identity, group: image.group };
}

function summarise(id: string, dataset: Dataset): DatasetSummary {
  const groups: GroupSummary[] = dataset.groups.map((name) => {
    const images = dataset.images.filter((i) => i.group === name);
    return {
      name,
      images: images.length,
      identities: new Set(images.map((i) => i.identity)).size,
      pairs: dataset.pairs.filter((p) => p.group === name).length,
    };
  });
  return {
    id,
    path: dataset.root,
    format: dataset.format,
    groups,
    images: dataset.images.length,
    pairs: dataset.pairs.length,
    problems: dataset.problems.length,
  };
}

export function createDatasetRegistry() {
  const open = new Map<string, OpenDataset>();

  function register(target: string): OpenDataset {
    const real = realPathOf(target, 'dataset');
    const id = idOf('d', real);
    const known = open.get(id);
    if (known) return known;
    const dataset = loadDataset(real);
    const entry: OpenDataset = { summary: summarise(id, dataset), dataset, partner: partnerIndex(dataset) };
    open.set(id, entry);
    return entry;
  }

  function get(id: string): OpenDataset {
    const entry = open.get(id);
    if (!entry)
      throw new GabnError('usage', `no open dataset '${id}'`, { expected: 'the id of an opened dataset' });
    return entry;
  }

  /**
   * Image `imageId` of the dataset, its path checked again now: it must still resolve, links
   * followed, inside the dataset (a link put in its place after the dataset was opened is refused).
   */
  function image(entry: OpenDataset, imageId: number): FaceImage {
    const found = entry.dataset.images[imageId];
    if (!found) {
      throw new GabnError('usage', `no image ${imageId} in ${entry.dataset.root}`, {
        expected: `an image id in [0, ${entry.dataset.images.length - 1}]`,
      });
    }
    return { ...found, path: resolveContained([entry.dataset.root], found.path) };
  }

  return {
    register,
    get,
    image,
    list: (): DatasetSummary[] => [...open.values()].map((d) => d.summary),
    size: () => open.size,
    paths: () => [...open.values()].map((d) => d.summary.path),
    listImages(request: { datasetId: string } & ImageQuery): ImagePage {
      const d = get(request.datasetId);
      if (request.group !== undefined && !d.dataset.groups.includes(request.group)) {
        throw new GabnError('usage', `no group '${request.group}' in ${d.dataset.root}`, {
          expected: `one of ${d.dataset.groups.join(', ')}`,
        });
      }
      const needle = request.identity?.toLowerCase();
      const matching: ImageEntry[] = [];
      d.dataset.images.forEach((img, i) => {
        if (request.group !== undefined && img.group !== request.group) return;
        if (needle !== undefined && !img.identity.toLowerCase().includes(needle)) return;
        matching.push(entryOf(img, i));
      });
      const offset = request.offset ?? 0;
      const limit = request.limit ?? 200;
      return { total: matching.length, offset, images: matching.slice(offset, offset + limit) };
    },
    async readImage(request: ImageRequest): Promise<ImageBytes> {
      const face = image(get(request.datasetId), request.imageId);
      if (request.aligned === undefined) {
        return imageBytes(
          mimeOf(face.path),
          readUntrustedFile(face.path, { what: 'the image', maxBytes: MAX_IMAGE_BYTES }),
        );
      }
      const pixels = await alignedPixels(face, request.aligned);
      return imageBytes(
        'image/png',
        await encodePng({ width: request.aligned, height: request.aligned, pixels }),
      );
    },
  };
}

export type DatasetRegistry = ReturnType<typeof createDatasetRegistry>;
