/**
 * `gabn data check`: loads a dataset collecting every problem, decodes every image (one corrupt image
 * is reported, never fatal), and summarises each group: identities, images, pairs, folds, positives
 * and negatives per fold.
 */
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import type { Dataset, DatasetFormat, DatasetProblem } from './dataset.ts';
import { decodeImage } from './image.ts';
import { loadDataset } from './load-dataset.ts';

export interface GroupSummary {
  readonly group: string;
  readonly identities: number;
  readonly images: number;
  readonly imagesWithLandmarks: number;
  readonly pairs: number;
  readonly folds: number;
  /** Per fold (0-based order): positive and negative pairs. */
  readonly perFold: { positives: number; negatives: number }[];
}

export interface DatasetCheck {
  readonly target: string;
  readonly format: DatasetFormat;
  readonly groups: GroupSummary[];
  readonly identitiesInSeveralGroups: Dataset['identitiesInSeveralGroups'];
  readonly problems: DatasetProblem[];
  readonly errors: number;
  readonly warnings: number;
}

export interface CheckOptions {
  /** Decode every image (default true). */
  readonly decodeImages?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

export function summariseGroups(dataset: Dataset): GroupSummary[] {
  return dataset.groups.map((group) => {
    const images = dataset.images.filter((i) => i.group === group);
    const pairs = dataset.pairs.filter((p) => p.group === group);
    const folds = pairs.length === 0 ? 0 : Math.max(...pairs.map((p) => p.fold)) + 1;
    const perFold = Array.from({ length: folds }, () => ({ positives: 0, negatives: 0 }));
    for (const p of pairs) {
      if (p.same) perFold[p.fold]!.positives++;
      else perFold[p.fold]!.negatives++;
    }
    return {
      group,
      identities: new Set(images.map((i) => i.identity).filter((i) => i !== '')).size,
      images: images.length,
      imagesWithLandmarks: images.filter((i) => i.landmarks !== undefined).length,
      pairs: pairs.length,
      folds,
      perFold,
    };
  });
}

export async function checkDataset(target: string, options: CheckOptions = {}): Promise<DatasetCheck> {
  const dataset = loadDataset(target, { collect: true });
  const problems = [...dataset.problems];
  if (options.decodeImages ?? true) {
    let done = 0;
    for (const image of dataset.images) {
      if (options.signal?.aborted) throw new GabnError('cancelled', 'the dataset check was cancelled');
      try {
        const decoded = await decodeImage(image.path);
        const named = path.extname(image.path).toLowerCase();
        const real = decoded.format === 'jpeg' ? ['.jpg', '.jpeg'] : [`.${decoded.format}`];
        if (!real.includes(named)) {
          problems.push({
            file: image.relative,
            message: `the file holds a ${decoded.format.toUpperCase()} image but is named ${named}`,
            severity: 'warning',
          });
        }
        if (
          image.landmarks?.some(
            (v, i) => v < -0.5 || v > (i % 2 === 0 ? decoded.width : decoded.height) + 0.5,
          )
        ) {
          problems.push({
            file: image.relative,
            message: 'a landmark lies outside the image',
            severity: 'error',
            expected: `points within ${decoded.width}×${decoded.height}`,
          });
        }
      } catch (error) {
        if (!(error instanceof GabnError)) throw error;
        problems.push({
          file: image.relative,
          message: error.message.replace(`${image.path}: `, '').replace(/ \(expected .*\)$/, ''),
          severity: 'error',
          expected: 'a readable JPEG or PNG',
        });
      }
      done++;
      options.onProgress?.(done, dataset.images.length);
    }
  }
  return {
    target,
    format: dataset.format,
    groups: summariseGroups(dataset),
    identitiesInSeveralGroups: dataset.identitiesInSeveralGroups,
    problems,
    errors: problems.filter((p) => p.severity === 'error').length,
    warnings: problems.filter((p) => p.severity === 'warning').length,
  };
}
