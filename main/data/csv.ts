/**
 * Every CSV the project reads (the manifest CSV, the pairs CSV, the scores CSV) is split into records
 * here, by csv-parse: RFC 4180 fields (quoted fields may hold commas, doubled quotes and line
 * breaks), Windows, Unix or old Mac line ends, a leading byte order mark ignored, blank lines skipped. Each
 * record keeps the line it starts on, so every later problem names the file and the line; a record
 * that cannot be split (an unclosed quote, text after a closing quote) is reported the same way and
 * the others are still read, so a dataset check lists every problem at once.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { GabnError } from '../base/errors.ts';
import { withoutBom, withUnixLineEnds } from '../base/untrusted-files.ts';

export interface CsvRecord {
  /** The fields as written (not trimmed). */
  readonly fields: string[];
  /** The 1-based line the record starts on. */
  readonly line: number;
}

const QUOTING = 'fields quoted as "a, b" with "" for a quote inside';

/** csv-parse's error in the project's words, at the line it concerns. */
function csvProblem(error: unknown, file: string, line: number): GabnError {
  const code = error instanceof CsvError ? error.code : undefined;
  switch (code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new GabnError('malformed', 'a quoted field opened here is never closed', {
        file,
        line,
        expected: QUOTING,
      });
    case 'INVALID_OPENING_QUOTE':
      return new GabnError('malformed', 'a quote inside a field that does not start with one', {
        file,
        line,
        expected: QUOTING,
      });
    case 'CSV_INVALID_CLOSING_QUOTE':
      return new GabnError('malformed', 'text after the closing quote of a field', {
        file,
        line,
        expected: QUOTING,
      });
    default:
      return new GabnError('malformed', (error as Error).message.replace(/ at line \d+.*$/, ''), {
        file,
        line,
        expected: 'comma-separated values',
      });
  }
}

/** The first line after `after` that holds more than blanks (where a record starts), 1-based. */
function nextFilledLine(lines: readonly string[], after: number): number {
  let line = after + 1;
  while (line <= lines.length && lines[line - 1]!.trim() === '') line++;
  return Math.min(line, Math.max(lines.length, 1));
}

function newlines(fields: readonly string[]): number {
  let n = 0;
  for (const field of fields) for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The records of `text` (the contents of `file`), blank ones left out. A record that cannot be split
 * is given to `onProblem` and left out; the others are returned.
 */
export function parseCsv(text: string, file: string, onProblem: (problem: GabnError) => void): CsvRecord[] {
  const unix = withUnixLineEnds(withoutBom(text));
  let lines: string[] | undefined;
  let lastEnd = 0;
  const records: CsvRecord[] = [];
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(unix, {
      info: true,
      record_delimiter: '\n',
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (error) => {
        lines ??= unix.split('\n');
        const noticed = Number(error?.lines ?? lastEnd + 1);
        // The error's line is where the parser noticed; an open quote began after the last good record.
        const line = error?.code === 'CSV_QUOTE_NOT_CLOSED' ? nextFilledLine(lines, lastEnd) : noticed;
        onProblem(csvProblem(error, file, line));
        lastEnd = noticed;
        return undefined;
      },
      on_record: (record: string[], context: { lines: number }) => {
        lastEnd = context.lines;
        return record;
      },
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    // Errors csv-parse does not skip past (none are known): the whole file is one problem.
    onProblem(csvProblem(error, file, 1));
    return [];
  }
  for (const { record, info } of rows) {
    if (record.every((field) => field.trim() === '')) continue;
    records.push({ fields: record, line: info.lines - newlines(record) });
  }
  return records;
}

/** What a refused header is, for its error: the header as given (or that there is none) and its line. */
export function refusedHeader(records: readonly CsvRecord[]): { message: string; line: number } {
  const first = records[0];
  return {
    message: first === undefined ? 'the file is empty' : `header '${first.fields.join(',').slice(0, 200)}'`,
    line: first?.line ?? 1,
  };
}

/** Header names as compared: trimmed, lower case. */
export function headerNames(record: CsvRecord | undefined): string[] {
  return record === undefined ? [] : record.fields.map((h) => h.trim().toLowerCase());
}
