/**
 * "Bring your own scores": pair scores from any framework, as a CSV with the header
 * `group,same,score[,fold]` (columns in any order), one pair per line.
 * - same: 1/0 or true/false (genuine / impostor);
 * - score: a cosine similarity by default, turned into the protocol's distance 2 − 2·score (the
 *   squared Euclidean distance of unit vectors, so insightface's thresholds 0..4 apply); with score
 *   kind 'distance' the value is taken as the distance itself;
 * - fold: optional, any non-negative integers; each group's distinct values, in ascending order,
 *   become folds 0..K-1. Without it each group's pairs are split, in file order, into 10 contiguous
 *   folds (sklearn KFold semantics: the first n % 10 folds one pair larger).
 * Every malformed line is a GabnError naming the file, the line and the expected form.
 */
import { GabnError } from '../base/errors.ts';
import { decodeUtf8Text, MAX_TEXT_BYTES, readUntrustedFile } from '../base/untrusted-files.ts';
import { headerNames, parseCsv } from '../data/csv.ts';
import type { GroupPairs } from './audit-figures.ts';
import { SCORE_KINDS, type ScoreKind } from './score-kind.ts';
import { kFoldAssignment } from './verification.ts';

const COLUMNS = ['group', 'same', 'score', 'fold'] as const;
const HEADER = 'a header line group,same,score[,fold]';
/** Cosine similarities computed in float32 can stray a little outside [-1, 1]. */
const SIMILARITY_SLACK = 1e-5;

export interface ScoresFile {
  readonly groups: GroupPairs[];
  readonly pairCount: number;
  readonly scoreKind: ScoreKind;
  /** Whether the file gave the folds (otherwise KFold in file order). */
  readonly explicitFolds: boolean;
}

function parseSame(text: string): 0 | 1 | undefined {
  const t = text.toLowerCase();
  if (t === '1' || t === 'true') return 1;
  if (t === '0' || t === 'false') return 0;
  return undefined;
}

export function parseScoresCsv(text: string, file: string, scoreKind: ScoreKind = 'similarity'): ScoresFile {
  if (!SCORE_KINDS.includes(scoreKind)) {
    throw new GabnError('usage', `unknown score kind '${scoreKind}'`, { expected: SCORE_KINDS.join(' or ') });
  }
  // Records in file order; a record that cannot be split is an error at its line, in that order too.
  const unsplit: GabnError[] = [];
  const records = parseCsv(text, file, (problem) => unsplit.push(problem));
  const failAt = (line: number) => {
    const first = unsplit[0];
    if (first !== undefined && (first.line ?? 0) <= line) throw first;
  };
  const headerRecord = records[0];
  if (headerRecord === undefined) {
    failAt(Number.POSITIVE_INFINITY);
    throw new GabnError('malformed', 'the scores file is empty', { file, expected: HEADER });
  }
  failAt(headerRecord.line);
  const header = headerNames(headerRecord);
  const column = new Map<string, number>();
  header.forEach((name, k) => {
    if (!(COLUMNS as readonly string[]).includes(name) || column.has(name)) column.set('?', k);
    else column.set(name, k);
  });
  if (column.has('?') || !column.has('group') || !column.has('same') || !column.has('score')) {
    throw new GabnError('malformed', `bad header '${headerRecord.fields.join(',').trim().slice(0, 200)}'`, {
      file,
      line: headerRecord.line,
      expected: HEADER,
    });
  }
  const width = header.length;
  const hasFold = column.has('fold');
  const byGroup = new Map<
    string,
    { distances: number[]; same: number[]; folds: number[]; firstLine: number }
  >();
  let pairCount = 0;
  for (const record of records.slice(1)) {
    const { line } = record;
    failAt(line);
    const fields = record.fields.map((f) => f.trim());
    if (fields.length !== width) {
      throw new GabnError('malformed', `expected ${width} fields, found ${fields.length}`, {
        file,
        line,
        expected: `${header.join(',')} with one value per column`,
      });
    }
    const group = fields[column.get('group')!]!;
    if (group === '')
      throw new GabnError('malformed', 'the group is empty', { file, line, expected: 'a group name' });
    const same = parseSame(fields[column.get('same')!]!);
    if (same === undefined) {
      throw new GabnError('malformed', `same is '${fields[column.get('same')!]!.slice(0, 60)}'`, {
        file,
        line,
        expected: 'same as 1, 0, true or false',
      });
    }
    const scoreText = fields[column.get('score')!]!;
    const score = Number(scoreText);
    if (scoreText === '' || !Number.isFinite(score)) {
      throw new GabnError('malformed', `score '${scoreText.slice(0, 60)}' is not a number`, {
        file,
        line,
        expected: 'a finite number',
      });
    }
    let distance: number;
    if (scoreKind === 'similarity') {
      if (Math.abs(score) > 1 + SIMILARITY_SLACK) {
        throw new GabnError('malformed', `similarity ${score} lies outside [-1, 1]`, {
          file,
          line,
          expected: 'a cosine similarity in [-1, 1], or --score-kind distance for distances',
        });
      }
      distance = 2 - 2 * score;
    } else {
      if (score < 0) {
        throw new GabnError('malformed', `distance ${score} is negative`, {
          file,
          line,
          expected: 'a distance >= 0',
        });
      }
      distance = score;
    }
    let fold = 0;
    if (hasFold) {
      const foldText = fields[column.get('fold')!]!;
      if (!/^\d+$/.test(foldText)) {
        throw new GabnError('malformed', `fold '${foldText.slice(0, 60)}' is not a fold number`, {
          file,
          line,
          expected: 'a non-negative integer fold',
        });
      }
      fold = Number(foldText);
    }
    let entry = byGroup.get(group);
    if (entry === undefined) {
      entry = { distances: [], same: [], folds: [], firstLine: line };
      byGroup.set(group, entry);
    }
    entry.distances.push(distance);
    entry.same.push(same);
    entry.folds.push(fold);
    pairCount++;
  }
  failAt(Number.POSITIVE_INFINITY);
  if (byGroup.size === 0)
    throw new GabnError('malformed', 'the scores file has no pairs', {
      file,
      expected: 'one line per pair after the header',
    });
  const groups: GroupPairs[] = [];
  for (const [name, entry] of byGroup) {
    const positives = entry.same.reduce((s, v) => s + v, 0);
    if (positives === 0 || positives === entry.same.length) {
      throw new GabnError(
        'dataset',
        `group '${name}' has only ${positives === 0 ? 'impostor' : 'genuine'} pairs`,
        {
          file,
          line: entry.firstLine,
          expected: 'both genuine (same = 1) and impostor (same = 0) pairs in every group',
        },
      );
    }
    let folds: Int32Array;
    if (hasFold) {
      const labels = [...new Set(entry.folds)].sort((a, b) => a - b);
      if (labels.length < 2) {
        throw new GabnError('dataset', `group '${name}' has a single fold (${labels[0]})`, {
          file,
          line: entry.firstLine,
          expected: 'at least 2 distinct folds per group',
        });
      }
      const index = new Map(labels.map((l, k) => [l, k]));
      folds = Int32Array.from(entry.folds, (f) => index.get(f)!);
    } else {
      if (entry.distances.length < 10) {
        throw new GabnError(
          'dataset',
          `group '${name}' has ${entry.distances.length} pairs, too few for 10 folds`,
          {
            file,
            line: entry.firstLine,
            expected: 'at least 10 pairs per group, or a fold column',
          },
        );
      }
      folds = kFoldAssignment(entry.distances.length, 10);
    }
    groups.push({
      name,
      distances: Float64Array.from(entry.distances),
      same: Uint8Array.from(entry.same),
      folds,
    });
  }
  return { groups, pairCount, scoreKind, explicitFolds: hasFold };
}

/** Reads and parses a scores file; returns its bytes too, for the report's SHA-256. */
export async function readScoresCsv(
  file: string,
  scoreKind: ScoreKind = 'similarity',
): Promise<ScoresFile & { bytes: Buffer }> {
  const bytes = readUntrustedFile(file, {
    what: 'the scores file',
    maxBytes: MAX_TEXT_BYTES,
    expected: 'a CSV file of pair scores',
  });
  return { ...parseScoresCsv(decodeUtf8Text(bytes, file, 'the scores file'), file, scoreKind), bytes };
}
