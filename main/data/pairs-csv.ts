/**
 * A pairs CSV for any verification set: a header `path1,path2,same,group` optionally followed by
 * `fold`; `same` is 1/0 or true/false; paths relative to the CSV's folder. Without a fold column,
 * each group's pairs are split into 10 contiguous folds in file order (the insightface protocol).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { splitCsvLine } from './csv-line.ts';
import { type Dataset, type FaceImage, type FacePair, ProblemLog } from './dataset.ts';
import { csvPath, csvRecord, readCsvLines } from './manifest-csv.ts';
import type { LoadOptions } from './rfw.ts';

const FORM = 'path1,path2,same,group or path1,path2,same,group,fold';

function parseSame(value: string, file: string, line: number): boolean {
  const v = value.trim().toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new GabnError('malformed', `same '${value}' is not 1, 0, true or false`, {
    file,
    line,
    expected: FORM,
  });
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

export function loadPairsCsv(file: string, options: LoadOptions = {}): Dataset {
  const resolved = path.resolve(file);
  const base = path.dirname(resolved);
  const problems = new ProblemLog(options.collect ?? false);
  const lines = readCsvLines(resolved);
  const header = lines[0] === undefined ? [] : splitCsvLine(lines[0].text, file, 1).map((h) => h.trim());
  const hasFold = header.length === 5 && header[4] === 'fold';
  if (
    !(header[0] === 'path1' && header[1] === 'path2' && header[2] === 'same' && header[3] === 'group') ||
    (header.length !== 4 && !hasFold)
  ) {
    throw new GabnError(
      'malformed',
      lines.length === 0 ? 'the file is empty' : `header '${lines[0]!.text}'`,
      { file, line: 1, expected: FORM },
    );
  }
  const images: FaceImage[] = [];
  const imageIndex = new Map<string, number>();
  const rows: { a: number; b: number; same: boolean; group: string; fold?: number }[] = [];
  const indexOf = (full: string, group: string) => {
    let i = imageIndex.get(full);
    if (i === undefined) {
      i = images.length;
      imageIndex.set(full, i);
      images.push({ path: full, relative: path.relative(base, full), identity: '', group });
    }
    return i;
  };
  for (const { text, line } of lines.slice(1)) {
    try {
      const fields = csvRecord(text, file, line, header);
      const [p1, p2, same, group] = fields as [string, string, string, string];
      if (group.trim() === '')
        throw new GabnError('malformed', 'the group is empty', { file, line, expected: FORM });
      const a = csvPath(p1, base, file, line);
      const b = csvPath(p2, base, file, line);
      const missing = [a, b].filter((x) => !existsSync(x));
      if (missing.length > 0) {
        problems.error(
          `${missing.map((m) => path.relative(base, m)).join(' and ')} ${missing.length === 1 ? 'does' : 'do'} not exist`,
          { file, line, expected: 'paths of existing images' },
          'dataset',
        );
        continue;
      }
      let fold: number | undefined;
      if (hasFold) {
        const f = fields[4]!.trim();
        if (!/^\d+$/.test(f))
          throw new GabnError('malformed', `fold '${fields[4]}' is not a non-negative integer`, {
            file,
            line,
            expected: FORM,
          });
        fold = Number(f);
      }
      rows.push({
        a: indexOf(a, group.trim()),
        b: indexOf(b, group.trim()),
        same: parseSame(same, file, line),
        group: group.trim(),
        ...(fold === undefined ? {} : { fold }),
      });
    } catch (error) {
      problems.parserError(error, file, line);
    }
  }
  const groups = [...new Set(rows.map((r) => r.group))].sort();
  const pairs: FacePair[] = [];
  for (const group of groups) {
    const mine = rows.filter((r) => r.group === group);
    mine.forEach((r, position) => {
      pairs.push({
        a: r.a,
        b: r.b,
        same: r.same,
        group,
        fold: r.fold ?? contiguousFold(position, mine.length),
      });
    });
  }
  return {
    format: 'pairs-csv',
    root: base,
    groups,
    images,
    pairs,
    identitiesInSeveralGroups: [],
    problems: problems.problems,
  };
}
