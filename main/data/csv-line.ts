/**
 * One CSV record per line (RFC 4180 fields: quoted fields may hold commas and doubled quotes; a
 * field may not span lines). Throws GabnError('malformed') on an unterminated quote.
 */
import { GabnError } from '../base/errors.ts';

export function splitCsvLine(text: string, file: string, line: number): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const row = text.replace(/\r$/, '');
  while (i < row.length) {
    const c = row[i]!;
    if (quoted) {
      if (c === '"' && row[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += c;
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else {
      field += c;
    }
    i++;
  }
  if (quoted)
    throw new GabnError('malformed', 'a quoted field is not closed', { file, line, expected: 'a closing "' });
  fields.push(field);
  return fields;
}
