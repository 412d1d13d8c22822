/**
 * A pairs CSV for any verification set: a header `path1,path2,same,group` optionally followed by
 * `fold`; `same` is 1/0 or true/false; paths relative to the CSV's folder. With a fold column, each
 * group's distinct fold values, in ascending order, become its folds 0..K-1 (K ≥ 2); without one,
 * each group's pairs are split into 10 contiguous folds in file order (the insightface protocol).
 *
 * A pair of an image with itself, an image in two groups, a group without genuine or impostor pairs
 * and a file without pairs are errors; a pair listed again is a warning (it is kept: the protocol
 * counts every line, as RFW's does).
 */
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { headerNames, parseCsv, refusedHeader } from './csv.ts';
import { type Dataset, type FaceImage, type FacePair, ProblemLog } from './dataset.ts';
import { type ImageFileProblem, imageFileProblem, readListFile } from './list-files.ts';
import { csvFields, csvPath } from './manifest-csv.ts';
import type { LoadOptions } from './rfw.ts';

const FORM = 'path1,path2,same,group or path1,path2,same,group,fold';

export interface PairRow {
  /** Absolute, resolved against the CSV's folder; and as written. */
  readonly a: string;
  readonly b: string;
  readonly writtenA: string;
  readonly writtenB: string;
  readonly same: boolean;
  readonly group: string;
  /** The fold as written, when the file has a fold column. */
  readonly fold?: number;
  readonly line: number;
}

function parseSame(value: string, file: string, line: number): boolean {
  const v = value.trim().toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new GabnError('malformed', `same '${value.slice(0, 60)}' is not 1, 0, true or false`, {
    file,
    line,
    expected: FORM,
  });
}

function parseFold(value: string, file: string, line: number): number {
  const f = value.trim();
  if (!/^\d{1,9}$/.test(f)) {
    throw new GabnError('malformed', `fold '${value.slice(0, 60)}' is not a non-negative integer`, {
      file,
      line,
      expected: FORM,
    });
  }
  return Number(f);
}

/** sklearn KFold(10) sizes: contiguous, the first n % 10 folds one larger. */
function contiguousFold(position: number, count: number, folds = 10): number {
  const base = Math.floor(count / folds);
  const extra = count % folds;
  const boundary = extra * (base + 1);
  return position < boundary
    ? Math.floor(position / (base + 1))
    : extra + Math.floor((position - boundary) / Math.max(base, 1));
}

/**
 * The pairs of a pairs CSV's text (`file`'s contents, paths resolved against `base`): the header,
 * every field, self-pairs, repeated pairs and images in two groups checked; nothing on disk is read.
 */
export function parsePairsCsv(text: string, file: string, base: string, problems: ProblemLog): PairRow[] {
  const records = parseCsv(text, file, (p) => problems.parserError(p, file, p.line ?? 1));
  const header = headerNames(records[0]);
  const hasFold = header.length === 5 && header[4] === 'fold';
  if (
    !(header[0] === 'path1' && header[1] === 'path2' && header[2] === 'same' && header[3] === 'group') ||
    (header.length !== 4 && !hasFold)
  ) {
    const { message, line } = refusedHeader(records);
    problems.error(message, { file, line, expected: FORM });
    return [];
  }
  const rows: PairRow[] = [];
  const pairLine = new Map<string, number>();
  const groupOf = new Map<string, { group: string; line: number }>();
  for (const record of records.slice(1)) {
    const { line } = record;
    try {
      const fields = csvFields(record, file, header);
      const [writtenA, writtenB, same, rawGroup] = fields as [string, string, string, string];
      const group = rawGroup.trim();
      if (group === '')
        throw new GabnError('malformed', 'the group is empty', { file, line, expected: FORM });
      const a = csvPath(writtenA, base, file, line);
      const b = csvPath(writtenB, base, file, line);
      const row: PairRow = {
        a,
        b,
        writtenA,
        writtenB,
        same: parseSame(same, file, line),
        group,
        ...(hasFold ? { fold: parseFold(fields[4]!, file, line) } : {}),
        line,
      };
      if (a === b) {
        throw new GabnError('dataset', `a pair of ${writtenA} with itself`, {
          file,
          line,
          expected: 'pairs of two different images',
        });
      }
      for (const [image, written] of [
        [a, writtenA],
        [b, writtenB],
      ] as const) {
        const known = groupOf.get(image);
        if (known === undefined) groupOf.set(image, { group, line });
        else if (known.group !== group) {
          throw new GabnError(
            'dataset',
            `${written} is in group '${known.group}' at line ${known.line} and in group '${group}' here`,
            { file, line, expected: 'each image in one group' },
          );
        }
      }
      const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
      const first = pairLine.get(key);
      if (first !== undefined) {
        problems.warning(`the pair ${writtenA}, ${writtenB} is listed again (first at line ${first})`, {
          file,
          line,
          expected: 'each pair once',
        });
      } else pairLine.set(key, line);
      rows.push(row);
    } catch (error) {
      problems.parserError(error, file, line);
    }
  }
  return rows;
}

/** Each group's pairs with their folds, and the errors of groups that cannot be evaluated. */
function foldedPairs(
  rows: readonly (PairRow & { ia: number; ib: number })[],
  file: string,
  problems: ProblemLog,
): FacePair[] {
  const groups = [...new Set(rows.map((r) => r.group))].sort();
  const pairs: FacePair[] = [];
  for (const group of groups) {
    const mine = rows.filter((r) => r.group === group);
    const firstLine = mine[0]!.line;
    const genuine = mine.filter((r) => r.same).length;
    if (genuine === 0 || genuine === mine.length) {
      problems.error(
        `group '${group}' has only ${genuine === 0 ? 'impostor' : 'genuine'} pairs`,
        {
          file,
          line: firstLine,
          expected: 'both genuine (same = 1) and impostor (same = 0) pairs in every group',
        },
        'dataset',
      );
    }
    const labels = [...new Set(mine.flatMap((r) => (r.fold === undefined ? [] : [r.fold])))].sort(
      (x, y) => x - y,
    );
    if (labels.length === 1) {
      problems.error(
        `group '${group}' has a single fold (${labels[0]})`,
        { file, line: firstLine, expected: 'at least 2 distinct folds per group' },
        'dataset',
      );
    }
    const index = new Map(labels.map((l, k) => [l, k]));
    mine.forEach((r, position) => {
      pairs.push({
        a: r.ia,
        b: r.ib,
        same: r.same,
        group,
        fold: r.fold === undefined ? contiguousFold(position, mine.length) : index.get(r.fold)!,
      });
    });
  }
  return pairs;
}

export function loadPairsCsv(file: string, options: LoadOptions = {}): Dataset {
  const resolved = path.resolve(file);
  const base = path.dirname(resolved);
  const problems = new ProblemLog(options.collect ?? false);
  const text = readListFile(resolved, file, 'the pairs file', problems) ?? '';
  const rows = parsePairsCsv(text, file, base, problems);
  const images: FaceImage[] = [];
  const imageIndex = new Map<string, number>();
  const checked = new Map<string, ImageFileProblem | undefined>();
  const problemOf = (full: string, written: string) => {
    if (!checked.has(full)) checked.set(full, imageFileProblem(full, written, base));
    return checked.get(full);
  };
  const kept: (PairRow & { ia: number; ib: number })[] = [];
  for (const row of rows) {
    const bad = [problemOf(row.a, row.writtenA), problemOf(row.b, row.writtenB)].filter(
      (p): p is ImageFileProblem => p !== undefined,
    );
    if (bad.length > 0) {
      const message = bad.map((p) => p.message).join('; ');
      problems.error(message, { file, line: row.line, expected: bad[0]!.expected }, bad[0]!.kind);
      continue;
    }
    const indexOf = (full: string) => {
      let i = imageIndex.get(full);
      if (i === undefined) {
        i = images.length;
        imageIndex.set(full, i);
        images.push({ path: full, relative: path.relative(base, full), identity: '', group: row.group });
      }
      return i;
    };
    kept.push({ ...row, ia: indexOf(row.a), ib: indexOf(row.b) });
  }
  if (rows.length === 0 && problems.errorCount === 0) {
    problems.error(
      'the pairs file lists no pairs',
      { file, expected: 'one line per pair after the header' },
      'dataset',
    );
  }
  const pairs = foldedPairs(kept, file, problems);
  return {
    format: 'pairs-csv',
    root: base,
    groups: [...new Set(pairs.map((p) => p.group))].sort(),
    images,
    pairs,
    identitiesInSeveralGroups: [],
    // In line order: the checks of the lines come first, those of the files they name after.
    problems: [...problems.problems].sort((x, y) => (x.line ?? 0) - (y.line ?? 0)),
  };
}
