/**
 * The RFW test set (Racial Faces in-the-Wild), exactly as distributed:
 *   test/data/<Group>/<identity>/<identity>_<NNNN>.jpg
 *   test/txts/<Group>/<Group>_pairs.txt   10 folds × (P positive lines, then P negative lines)
 *   test/txts/<Group>/<Group>_lmk.txt     path, label, 5 landmarks
 *   test/txts/<Group>/<Group>_images.txt  image name, label
 *   test/txts/<Group>/<Group>_people.txt  identity, number of images
 * Real RFW has P = 300; smaller sets (fixtures, synthetic data) use the same layout with any P.
 * Groups are discovered from the folders of test/data, never assumed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import {
  type Dataset,
  type FaceImage,
  type FacePair,
  identitiesInSeveralGroups,
  type Landmarks,
  ProblemLog,
} from './dataset.ts';
import { numberedLines, readListFile } from './list-files.ts';
import {
  parseImagesLine,
  parseLandmarkLine,
  parsePairLine,
  parsePeopleLine,
  rfwImageName,
} from './rfw-lines.ts';
import { groupFolders, isDirectory, scanGroupTree } from './scan.ts';

export const RFW_FOLDS = 10;

/** The `test` folder of an RFW tree, given that folder, or the folder that contains it. */
export function findRfwTestFolder(root: string): string | undefined {
  if (isDirectory(path.join(root, 'test', 'data')) && isDirectory(path.join(root, 'test', 'txts'))) {
    return path.join(root, 'test');
  }
  if (isDirectory(path.join(root, 'data')) && isDirectory(path.join(root, 'txts'))) return root;
  return undefined;
}

/** The numbered lines of list file `file` (shown as `shown`); none when it cannot be read (logged). */
function readLines(
  file: string,
  shown: string,
  problems: ProblemLog,
): { text: string; line: number }[] | undefined {
  const text = readListFile(file, shown, path.basename(file), problems);
  return text === undefined ? undefined : numberedLines(text);
}

export interface LoadOptions {
  /** Keep every problem instead of throwing at the first error (`gabn data check`). */
  readonly collect?: boolean;
}

export function loadRfw(root: string, options: LoadOptions = {}): Dataset {
  const resolved = path.resolve(root);
  const test = findRfwTestFolder(resolved);
  if (test === undefined) {
    throw new GabnError('dataset', 'not an RFW test set', {
      file: root,
      expected: 'a folder holding test/data/<Group>/ and test/txts/<Group>/ (or the test folder itself)',
    });
  }
  const problems = new ProblemLog(options.collect ?? false);
  const dataDir = path.join(test, 'data');
  const images = scanGroupTree(dataDir, resolved, problems);
  const groups = groupFolders(dataDir);
  checkGroupsOnBothSides(test, resolved, groups, images, problems);
  const index = new Map<string, number>();
  images.forEach((image, i) => {
    index.set(`${image.group}/${image.identity}/${path.basename(image.path)}`, i);
  });
  const landmarks = new Map<number, Landmarks>();
  const pairs: FacePair[] = [];
  for (const group of groups) {
    const txts = path.join(test, 'txts', group);
    const rel = (file: string) => path.relative(resolved, file);
    const pairsFile = path.join(txts, `${group}_pairs.txt`);
    if (!existsSync(pairsFile)) {
      problems.error(
        `group ${group} has no pairs file`,
        { file: rel(pairsFile), expected: `${group}_pairs.txt in test/txts/${group}/` },
        'missing-file',
      );
    } else {
      pairs.push(...readPairs(pairsFile, rel(pairsFile), group, index, problems));
    }
    const lmkFile = path.join(txts, `${group}_lmk.txt`);
    if (existsSync(lmkFile)) readLandmarks(lmkFile, rel(lmkFile), index, landmarks, problems);
    const imagesFile = path.join(txts, `${group}_images.txt`);
    if (existsSync(imagesFile)) checkImagesFile(imagesFile, rel(imagesFile), group, index, problems);
    const peopleFile = path.join(txts, `${group}_people.txt`);
    if (existsSync(peopleFile)) checkPeopleFile(peopleFile, rel(peopleFile), group, images, problems);
  }
  const withLandmarks: FaceImage[] = images.map((image, i) => {
    const points = landmarks.get(i);
    return points === undefined ? image : { ...image, landmarks: points };
  });
  return {
    format: 'rfw',
    root: resolved,
    groups,
    images: withLandmarks,
    pairs,
    identitiesInSeveralGroups: identitiesInSeveralGroups(images),
    problems: problems.problems,
  };
}

/**
 * Every group needs both sides: its images (test/data/<Group>/) and its lists (test/txts/<Group>/).
 * A group on one side only is an error, not a group silently dropped from the audit.
 */
function checkGroupsOnBothSides(
  test: string,
  root: string,
  groups: readonly string[],
  images: readonly FaceImage[],
  problems: ProblemLog,
): void {
  const txts = path.join(test, 'txts');
  const listed = groupFolders(txts, root, problems);
  for (const group of listed.filter((g) => !groups.includes(g))) {
    problems.error(
      `group ${group} has lists in test/txts/${group}/ but no images`,
      { file: path.relative(root, path.join(txts, group)), expected: `its images in test/data/${group}/` },
      'dataset',
    );
  }
  if (groups.length === 0 && listed.length === 0) {
    problems.error(
      'the test set has no groups',
      {
        file: path.relative(root, path.join(test, 'data')) || '.',
        expected: 'a folder per group in test/data/',
      },
      'dataset',
    );
  }
  // A group folder without images: its pairs (if any) are reported too, as naming missing images.
  for (const group of groups) {
    if (!images.some((i) => i.group === group)) {
      problems.error(
        `group ${group} has no images`,
        {
          file: path.relative(root, path.join(test, 'data', group)),
          expected: '<identity>/<identity>_<NNNN>.jpg',
        },
        'dataset',
      );
    }
  }
}

function readPairs(
  file: string,
  shown: string,
  group: string,
  index: Map<string, number>,
  problems: ProblemLog,
): FacePair[] {
  const lines = readLines(file, shown, problems);
  if (lines === undefined) return [];
  if (lines.length === 0) {
    problems.error('the pairs file is empty', {
      file: shown,
      expected: `${RFW_FOLDS} folds of positive then negative pairs`,
    });
    return [];
  }
  const perFold = lines.length / RFW_FOLDS;
  const foldsOk = Number.isInteger(perFold) && perFold % 2 === 0;
  if (!foldsOk) {
    problems.error(
      `${lines.length} pairs cannot form ${RFW_FOLDS} folds of equal positive and negative halves`,
      {
        file: shown,
        expected: `a multiple of ${2 * RFW_FOLDS} lines (real RFW: 6000)`,
      },
    );
  }
  const pairs: FacePair[] = [];
  const seen = new Map<string, number>();
  for (const { text, line } of lines) {
    let parsed: ReturnType<typeof parsePairLine>;
    try {
      parsed = parsePairLine(text, shown, line);
    } catch (error) {
      problems.parserError(error, shown, line);
      continue;
    }
    const position = line - 1;
    const fold = foldsOk ? Math.floor(position / perFold) : 0;
    if (foldsOk) {
      const shouldBeSame = position % perFold < perFold / 2;
      if (parsed.same !== shouldBeSame) {
        problems.error(
          `a ${parsed.same ? 'positive' : 'negative'} pair where fold ${fold + 1} has its ${shouldBeSame ? 'positive' : 'negative'} half`,
          {
            file: shown,
            line,
            expected: `each fold: ${perFold / 2} positive lines, then ${perFold / 2} negative lines`,
          },
        );
      }
    }
    const other = parsed.same ? parsed.identity : parsed.otherIdentity;
    const a = index.get(`${group}/${parsed.identity}/${rfwImageName(parsed.identity, parsed.first)}`);
    const b = index.get(`${group}/${other}/${rfwImageName(other, parsed.second)}`);
    const missing = [
      a === undefined ? rfwImageName(parsed.identity, parsed.first) : undefined,
      b === undefined ? rfwImageName(other, parsed.second) : undefined,
    ].filter((m): m is string => m !== undefined);
    if (missing.length > 0) {
      problems.error(
        `the pair names ${missing.join(' and ')}, which ${missing.length === 1 ? 'is' : 'are'} not in test/data/${group}/`,
        {
          file: shown,
          line,
          expected: 'pairs of images that exist',
        },
        'dataset',
      );
      continue;
    }
    if (a === b) {
      problems.error(
        `a pair of ${rfwImageName(parsed.identity, parsed.first)} with itself`,
        { file: shown, line, expected: 'pairs of two different images' },
        'dataset',
      );
      continue;
    }
    const key = a! < b! ? `${a}-${b}` : `${b}-${a}`;
    const first = seen.get(key);
    // Kept: the protocol counts every line of the file.
    if (first !== undefined) {
      problems.warning(`the pair is listed again (first at line ${first})`, {
        file: shown,
        line,
        expected: 'each pair once',
      });
    } else seen.set(key, line);
    pairs.push({ a: a!, b: b!, same: parsed.same, group, fold });
  }
  return pairs;
}

function readLandmarks(
  file: string,
  shown: string,
  index: Map<string, number>,
  out: Map<number, Landmarks>,
  problems: ProblemLog,
): void {
  const lineOf = new Map<number, number>();
  for (const { text, line } of readLines(file, shown, problems) ?? []) {
    if (text.trim() === '') continue;
    try {
      const parsed = parseLandmarkLine(text, shown, line);
      const key = parsed.path.slice('/test/data/'.length);
      const image = index.get(key);
      if (image === undefined) {
        problems.error(
          `landmarks for ${parsed.path}, which does not exist`,
          { file: shown, line, expected: 'paths of existing images' },
          'dataset',
        );
        continue;
      }
      const first = lineOf.get(image);
      if (first !== undefined) {
        // The first line stays: the same points again is a warning, other points an error.
        const same = out.get(image)!.every((v, i) => v === parsed.landmarks[i]);
        const message = `landmarks for ${parsed.path} are given again (first at line ${first})${same ? '' : ' with other points'}`;
        const where = { file: shown, line, expected: 'one landmark line per image' };
        if (same) problems.warning(message, where);
        else problems.error(message, where, 'dataset');
        continue;
      }
      lineOf.set(image, line);
      out.set(image, parsed.landmarks);
    } catch (error) {
      problems.parserError(error, shown, line);
    }
  }
}

function checkImagesFile(
  file: string,
  shown: string,
  group: string,
  index: Map<string, number>,
  problems: ProblemLog,
): void {
  for (const { text, line } of readLines(file, shown, problems) ?? []) {
    if (text.trim() === '') continue;
    try {
      const { name } = parseImagesLine(text, shown, line);
      const identity = name.replace(/_\d{4}\.(jpe?g|png)$/i, '');
      if (!index.has(`${group}/${identity}/${name}`)) {
        problems.error(
          `${name} is listed but not in test/data/${group}/${identity}/`,
          { file: shown, line },
          'dataset',
        );
      }
    } catch (error) {
      problems.parserError(error, shown, line);
    }
  }
}

function checkPeopleFile(
  file: string,
  shown: string,
  group: string,
  images: readonly FaceImage[],
  problems: ProblemLog,
): void {
  const counts = new Map<string, number>();
  for (const image of images)
    if (image.group === group) counts.set(image.identity, (counts.get(image.identity) ?? 0) + 1);
  for (const { text, line } of readLines(file, shown, problems) ?? []) {
    if (text.trim() === '') continue;
    try {
      const { identity, count } = parsePeopleLine(text, shown, line);
      const found = counts.get(identity) ?? 0;
      if (found !== count) {
        problems.error(
          `${identity} is listed with ${count} images, test/data/${group}/${identity}/ has ${found}`,
          { file: shown, line },
          'dataset',
        );
      }
    } catch (error) {
      problems.parserError(error, shown, line);
    }
  }
}
