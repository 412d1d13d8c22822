/**
 * A manifest CSV for any dataset: a header `path,identity,group` optionally followed by
 * `x1,y1,…,x5,y5` (landmarks in the ArcFace template's order); paths relative to the CSV's folder.
 * An image is listed once: a line that repeats one is a warning and counts once, a line that gives
 * it another identity or group is an error. A manifest without images is an error.
 */
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { isInside } from '../base/paths.ts';
import { type CsvRecord, headerNames, parseCsv, refusedHeader } from './csv.ts';
import {
  type Dataset,
  type FaceImage,
  identitiesInSeveralGroups,
  type Landmarks,
  ProblemLog,
} from './dataset.ts';
import { imageFileProblem, readListFile } from './list-files.ts';
import type { LoadOptions } from './rfw.ts';

const BASE_COLUMNS = ['path', 'identity', 'group'];
const LANDMARK_COLUMNS = ['x1', 'y1', 'x2', 'y2', 'x3', 'y3', 'x4', 'y4', 'x5', 'y5'];
const HEADER_FORM = 'path,identity,group or path,identity,group,x1,y1,x2,y2,x3,y3,x4,y4,x5,y5';

/** A record's fields when it has one per column; a malformed-line error otherwise. */
export function csvFields(record: CsvRecord, file: string, header: readonly string[]): string[] {
  if (record.fields.length !== header.length) {
    throw new GabnError(
      'malformed',
      `${record.fields.length} field${record.fields.length === 1 ? '' : 's'}`,
      {
        file,
        line: record.line,
        expected: `${header.length} fields: ${header.join(',')}`,
      },
    );
  }
  return record.fields;
}

/** A path from a CSV, resolved against the CSV's folder; refused when it leaves that folder. */
export function csvPath(value: string, base: string, file: string, line: number): string {
  if (value.trim() === '')
    throw new GabnError('malformed', 'the path is empty', {
      file,
      line,
      expected: 'a path relative to the CSV file',
    });
  if (value.includes('\u0000')) {
    throw new GabnError('malformed', 'the path holds a NUL character', {
      file,
      line,
      expected: 'a file path',
    });
  }
  const full = path.resolve(base, value);
  if (!isInside(base, full)) {
    throw new GabnError('malformed', `'${value.slice(0, 200)}' is outside the CSV's folder`, {
      file,
      line,
      expected: 'a path relative to the CSV file, inside its folder',
    });
  }
  return full;
}

export interface ManifestRow {
  /** Absolute, resolved against the CSV's folder. */
  readonly path: string;
  /** As written. */
  readonly written: string;
  readonly identity: string;
  readonly group: string;
  readonly landmarks?: Landmarks;
  readonly line: number;
}

function landmarksOf(fields: readonly string[], file: string, line: number): Landmarks {
  const values = fields.slice(3).map((v) => (v.trim() === '' ? Number.NaN : Number(v)));
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad !== -1) {
    throw new GabnError(
      'malformed',
      `${LANDMARK_COLUMNS[bad]} '${fields[3 + bad]!.slice(0, 60)}' is not a number`,
      {
        file,
        line,
        expected: 'ten numeric landmark coordinates',
      },
    );
  }
  return values as unknown as Landmarks;
}

/**
 * The rows of a manifest CSV's text (`file`'s contents, paths resolved against `base`): the header,
 * every field, repeated and conflicting images checked; nothing on disk is looked at.
 */
export function parseManifestCsv(
  text: string,
  file: string,
  base: string,
  problems: ProblemLog,
): ManifestRow[] {
  const records = parseCsv(text, file, (p) => problems.parserError(p, file, p.line ?? 1));
  const header = headerNames(records[0]);
  const withLandmarks = header.length === 13 && LANDMARK_COLUMNS.every((c, i) => header[3 + i] === c);
  if (!BASE_COLUMNS.every((c, i) => header[i] === c) || (header.length !== 3 && !withLandmarks)) {
    const { message, line } = refusedHeader(records);
    problems.error(message, { file, line, expected: HEADER_FORM });
    return [];
  }
  const rows: ManifestRow[] = [];
  const seen = new Map<string, ManifestRow>();
  for (const record of records.slice(1)) {
    const { line } = record;
    try {
      const fields = csvFields(record, file, header);
      const [written, rawIdentity, rawGroup] = fields as [string, string, string];
      const identity = rawIdentity.trim();
      const group = rawGroup.trim();
      if (identity === '' || group === '') {
        throw new GabnError('malformed', 'identity and group must not be empty', {
          file,
          line,
          expected: header.join(','),
        });
      }
      const full = csvPath(written, base, file, line);
      const landmarks = withLandmarks ? landmarksOf(fields, file, line) : undefined;
      const row: ManifestRow = {
        path: full,
        written,
        identity,
        group,
        line,
        ...(landmarks ? { landmarks } : {}),
      };
      const first = seen.get(full);
      if (first === undefined) {
        seen.set(full, row);
        rows.push(row);
      } else if (first.identity !== identity || first.group !== group) {
        problems.error(
          `${written} is listed as identity '${first.identity}' of group '${first.group}' at line ${first.line} and as identity '${identity}' of group '${group}' here`,
          { file, line, expected: 'one identity and one group per image' },
          'dataset',
        );
      } else {
        problems.warning(`${written} is listed again (first at line ${first.line}); counted once`, {
          file,
          line,
          expected: 'each image once',
        });
      }
    } catch (error) {
      problems.parserError(error, file, line);
    }
  }
  return rows;
}

export function loadManifestCsv(file: string, options: LoadOptions = {}): Dataset {
  const resolved = path.resolve(file);
  const base = path.dirname(resolved);
  const problems = new ProblemLog(options.collect ?? false);
  const text = readListFile(resolved, file, 'the manifest', problems) ?? '';
  const rows = parseManifestCsv(text, file, base, problems);
  const images: FaceImage[] = [];
  for (const row of rows) {
    const problem = imageFileProblem(row.path, row.written, base);
    if (problem !== undefined) {
      problems.error(problem.message, { file, line: row.line, expected: problem.expected }, problem.kind);
      continue;
    }
    images.push({
      path: row.path,
      relative: path.relative(base, row.path),
      identity: row.identity,
      group: row.group,
      ...(row.landmarks ? { landmarks: row.landmarks } : {}),
    });
  }
  if (images.length === 0 && problems.errorCount === 0) {
    problems.error(
      'the manifest lists no images',
      { file, expected: 'one line per image after the header' },
      'dataset',
    );
  }
  return {
    format: 'manifest-csv',
    root: base,
    groups: [...new Set(images.map((i) => i.group))].sort(),
    images,
    pairs: [],
    identitiesInSeveralGroups: identitiesInSeveralGroups(images),
    // In line order: the checks of the lines come first, those of the files they name after.
    problems: [...problems.problems].sort((x, y) => (x.line ?? 0) - (y.line ?? 0)),
  };
}
