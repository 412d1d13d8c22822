/**
 * A manifest CSV for any dataset: a header `path,identity,group` optionally followed by
 * `x1,y1,…,x5,y5` (landmarks in the ArcFace template's order); paths relative to the CSV's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { splitCsvLine } from './csv-line.ts';
import {
  type Dataset,
  type FaceImage,
  identitiesInSeveralGroups,
  type Landmarks,
  ProblemLog,
} from './dataset.ts';
import type { LoadOptions } from './rfw.ts';

const BASE_COLUMNS = ['path', 'identity', 'group'];
const LANDMARK_COLUMNS = ['x1', 'y1', 'x2', 'y2', 'x3', 'y3', 'x4', 'y4', 'x5', 'y5'];
const HEADER_FORM = 'path,identity,group or path,identity,group,x1,y1,x2,y2,x3,y3,x4,y4,x5,y5';

export function readCsvLines(file: string): { text: string; line: number }[] {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    throw new GabnError('missing-file', 'cannot read the file', { file, cause: error });
  }
  const lines = content.split('\n').map((text, i) => ({ text: text.replace(/\r$/, ''), line: i + 1 }));
  while (lines.length > 0 && lines[lines.length - 1]!.text.trim() === '') lines.pop();
  return lines;
}

/** One record of a CSV whose header is `header`: its fields, or a malformed-line error. */
export function csvRecord(text: string, file: string, line: number, header: readonly string[]): string[] {
  const fields = splitCsvLine(text, file, line);
  if (fields.length !== header.length) {
    throw new GabnError('malformed', `${fields.length} fields`, {
      file,
      line,
      expected: `${header.length} fields: ${header.join(',')}`,
    });
  }
  return fields;
}

/** A path from a CSV, resolved against the CSV's folder; refused when it leaves that folder. */
export function csvPath(value: string, base: string, file: string, line: number): string {
  if (value.trim() === '')
    throw new GabnError('malformed', 'the path is empty', {
      file,
      line,
      expected: 'a path relative to the CSV file',
    });
  const full = path.resolve(base, value);
  const relative = path.relative(base, full);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new GabnError('malformed', `'${value}' is outside the CSV's folder`, {
      file,
      line,
      expected: 'a path relative to the CSV file, inside its folder',
    });
  }
  return full;
}

export function loadManifestCsv(file: string, options: LoadOptions = {}): Dataset {
  const resolved = path.resolve(file);
  const base = path.dirname(resolved);
  const problems = new ProblemLog(options.collect ?? false);
  const lines = readCsvLines(resolved);
  const header = lines[0] === undefined ? [] : splitCsvLine(lines[0].text, file, 1).map((h) => h.trim());
  const withLandmarks = header.length === 13 && LANDMARK_COLUMNS.every((c, i) => header[3 + i] === c);
  if (!BASE_COLUMNS.every((c, i) => header[i] === c) || (header.length !== 3 && !withLandmarks)) {
    throw new GabnError(
      'malformed',
      lines.length === 0 ? 'the file is empty' : `header '${lines[0]!.text}'`,
      { file, line: 1, expected: HEADER_FORM },
    );
  }
  const images: FaceImage[] = [];
  for (const { text, line } of lines.slice(1)) {
    try {
      const fields = csvRecord(text, file, line, header);
      const [p, identity, group] = fields as [string, string, string];
      if (identity.trim() === '' || group.trim() === '') {
        throw new GabnError('malformed', 'identity and group must not be empty', {
          file,
          line,
          expected: header.join(','),
        });
      }
      const full = csvPath(p, base, file, line);
      let landmarks: Landmarks | undefined;
      if (withLandmarks) {
        const values = fields.slice(3).map((v) => (v.trim() === '' ? Number.NaN : Number(v)));
        const bad = values.findIndex((v) => !Number.isFinite(v));
        if (bad !== -1) {
          throw new GabnError('malformed', `${LANDMARK_COLUMNS[bad]} '${fields[3 + bad]}' is not a number`, {
            file,
            line,
            expected: 'ten numeric landmark coordinates',
          });
        }
        landmarks = values as unknown as Landmarks;
      }
      if (!existsSync(full)) {
        problems.error(
          `${p} does not exist`,
          { file, line, expected: 'paths of existing images' },
          'dataset',
        );
        continue;
      }
      images.push({
        path: full,
        relative: path.relative(base, full),
        identity: identity.trim(),
        group: group.trim(),
        ...(landmarks ? { landmarks } : {}),
      });
    } catch (error) {
      problems.parserError(error, file, line);
    }
  }
  return {
    format: 'manifest-csv',
    root: base,
    groups: [...new Set(images.map((i) => i.group))].sort(),
    images,
    pairs: [],
    identitiesInSeveralGroups: identitiesInSeveralGroups(images),
    problems: problems.problems,
  };
}
