/**
 * Parsers for the lines of RFW's text files, one pure function per file kind. Each returns the parsed
 * line or throws a GabnError('malformed') naming the file, the line and the expected form; nothing
 * else ever escapes them (tests/unit/data/line-fuzz.test.ts feeds them random and mutated lines).
 */
import { GabnError } from '../base/errors.ts';
import type { Landmarks } from './dataset.ts';

export type PairLine =
  | { readonly same: true; readonly identity: string; readonly first: number; readonly second: number }
  | {
      readonly same: false;
      readonly identity: string;
      readonly first: number;
      readonly otherIdentity: string;
      readonly second: number;
    };

const POSITIVE_FORM = 'identity<TAB>n1<TAB>n2';
const NEGATIVE_FORM = 'identity1<TAB>n1<TAB>identity2<TAB>n2';

/** An image number as RFW writes it in pairs files: a positive integer, not zero-padded. */
function imageNumber(text: string, file: string, line: number, expected: string): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1) {
    throw new GabnError('malformed', `'${text}' is not an image number`, { file, line, expected });
  }
  return Number(text);
}

function identityName(text: string, file: string, line: number, expected: string): string {
  if (text.length === 0 || /[\s/\\]/.test(text) || text === '.' || text === '..') {
    throw new GabnError('malformed', `'${text}' is not an identity name`, { file, line, expected });
  }
  return text;
}

/** `<Group>_pairs.txt`: tab-separated, `id n1 n2` (same identity) or `id1 n1 id2 n2`. */
export function parsePairLine(text: string, file: string, line: number): PairLine {
  const fields = text.replace(/\r$/, '').split('\t');
  if (fields.length === 3) {
    const expected = POSITIVE_FORM;
    return {
      same: true,
      identity: identityName(fields[0]!, file, line, expected),
      first: imageNumber(fields[1]!, file, line, expected),
      second: imageNumber(fields[2]!, file, line, expected),
    };
  }
  if (fields.length === 4) {
    const expected = NEGATIVE_FORM;
    return {
      same: false,
      identity: identityName(fields[0]!, file, line, expected),
      first: imageNumber(fields[1]!, file, line, expected),
      otherIdentity: identityName(fields[2]!, file, line, expected),
      second: imageNumber(fields[3]!, file, line, expected),
    };
  }
  throw new GabnError('malformed', `${fields.length} tab-separated field${fields.length === 1 ? '' : 's'}`, {
    file,
    line,
    expected: `${POSITIVE_FORM} or ${NEGATIVE_FORM}`,
  });
}

export interface LandmarkLine {
  /** As written: starts with /test/data/. */
  readonly path: string;
  readonly label: number;
  readonly landmarks: Landmarks;
}

const LANDMARK_FORM = '/test/data/<Group>/<id>/<id>_<NNNN>.jpg, a label, then x1 y1 … x5 y5';

/** `<Group>_lmk.txt`: the image path, a label, and ten coordinates, separated by tabs or spaces. */
export function parseLandmarkLine(text: string, file: string, line: number): LandmarkLine {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 12) {
    throw new GabnError('malformed', `${fields.length} fields`, {
      file,
      line,
      expected: `12 fields: ${LANDMARK_FORM}`,
    });
  }
  const [path, label, ...coordinates] = fields as [string, string, ...string[]];
  if (!path.startsWith('/test/data/') || !/\.(jpe?g|png)$/i.test(path) || path.includes('/../')) {
    throw new GabnError('malformed', `'${path}' is not an RFW image path`, {
      file,
      line,
      expected: LANDMARK_FORM,
    });
  }
  if (!/^-?\d+$/.test(label)) {
    throw new GabnError('malformed', `label '${label}' is not an integer`, {
      file,
      line,
      expected: LANDMARK_FORM,
    });
  }
  const values = coordinates.map((c) => (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(c) ? Number(c) : Number.NaN));
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad !== -1) {
    throw new GabnError('malformed', `coordinate ${bad + 1} '${coordinates[bad]}' is not a number`, {
      file,
      line,
      expected: LANDMARK_FORM,
    });
  }
  return { path, label: Number(label), landmarks: values as unknown as Landmarks };
}

/** `<Group>_images.txt`: `<id>_<NNNN>.jpg` and a label. */
export function parseImagesLine(text: string, file: string, line: number): { name: string; label: number } {
  const fields = text.trim().split(/\s+/);
  const expected = '<id>_<NNNN>.jpg<TAB>label';
  if (fields.length !== 2 || !/^\S+_\d{4}\.(jpe?g|png)$/i.test(fields[0]!) || !/^-?\d+$/.test(fields[1]!)) {
    throw new GabnError('malformed', `'${text.trim()}' is not an image entry`, { file, line, expected });
  }
  return { name: fields[0]!, label: Number(fields[1]) };
}

/** `<Group>_people.txt`: an identity and its number of images. */
export function parsePeopleLine(
  text: string,
  file: string,
  line: number,
): { identity: string; count: number } {
  const fields = text.trim().split(/\s+/);
  const expected = 'identity<TAB>number of images';
  if (fields.length !== 2 || !/^\d+$/.test(fields[1]!)) {
    throw new GabnError('malformed', `'${text.trim()}' is not a people entry`, { file, line, expected });
  }
  return { identity: identityName(fields[0]!, file, line, expected), count: Number(fields[1]) };
}

/** RFW file names: `<identity>_<NNNN>.jpg`, the number zero-padded to 4 digits. */
export function rfwImageName(identity: string, number: number): string {
  return `${identity}_${String(number).padStart(4, '0')}.jpg`;
}
