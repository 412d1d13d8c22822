/**
 * BUPT-Balancedface / BUPT-Globalface training sets: `<root>/<Group>/<identity>/<image>.jpg`.
 * Groups are the top folders. When `<root>/manifest.csv` exists (the synthetic generator writes one
 * with landmarks), it is read instead, so its landmarks are used.
 */
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { type Dataset, identitiesInSeveralGroups, ProblemLog } from './dataset.ts';
import type { LoadOptions } from './rfw.ts';
import { groupFolders, isDirectory, scanGroupTree } from './scan.ts';

export function loadBupt(root: string, options: LoadOptions = {}): Dataset {
  const resolved = path.resolve(root);
  if (!isDirectory(resolved)) {
    throw new GabnError('missing-file', 'the dataset folder does not exist', {
      file: root,
      expected: 'a folder <Group>/<identity>/<image>',
    });
  }
  const problems = new ProblemLog(options.collect ?? false);
  const images = scanGroupTree(resolved, resolved, problems);
  if (images.length === 0) {
    problems.error(
      'no images found',
      { file: root, expected: '<Group>/<identity>/<image>.jpg below this folder' },
      'dataset',
    );
  }
  const groups = groupFolders(resolved).filter((g) => images.some((i) => i.group === g));
  return {
    format: 'bupt',
    root: resolved,
    groups,
    images,
    pairs: [],
    identitiesInSeveralGroups: identitiesInSeveralGroups(images),
    problems: problems.problems,
  };
}
