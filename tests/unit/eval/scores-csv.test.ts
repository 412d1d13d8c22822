import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { parseScoresCsv, readScoresCsv } from '../../../main/eval/scores-csv.ts';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gabn-scores-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function lines(group: string, n: number, score = (i: number): number => (i % 2 === 0 ? 0.6 : 0.1)): string[] {
  return Array.from({ length: n }, (_, i) => `${group},${i % 2 === 0 ? 1 : 0},${score(i)}`);
}

function failure(text: string, kind: 'similarity' | 'distance' = 'similarity'): GabnError {
  try {
    parseScoresCsv(text, 'scores.csv', kind);
  } catch (error) {
    if (error instanceof GabnError) return error;
    throw error;
  }
  throw new Error('no error was raised');
}

describe('scores CSV', () => {
  it('reads groups in order of appearance; similarity becomes 2 − 2·score', () => {
    const text = ['group,same,score', ...lines('b', 10), ...lines('a', 12)].join('\n');
    const parsed = parseScoresCsv(text, 'scores.csv');
    expect(parsed.groups.map((g) => g.name)).toEqual(['b', 'a']);
    expect(parsed.pairCount).toBe(22);
    expect(parsed.groups[0]!.distances[0]).toBe(2 - 2 * 0.6);
    expect(Array.from(parsed.groups[0]!.same.slice(0, 3))).toEqual([1, 0, 1]);
    // KFold in file order: 12 pairs → folds of 2, 2, 1, ...
    expect(Array.from(parsed.groups[1]!.folds!)).toEqual([0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(parsed.explicitFolds).toBe(false);
  });

  it('accepts true/false, CRLF, a BOM, quotes, blank lines, any column order, and distances as they are', () => {
    const rows = Array.from(
      { length: 10 },
      (_, i) => `${i % 2 ? 'False' : 'TRUE'},"group ""x"", 1",${0.25 * i}\r`,
    );
    const text = `\uFEFFsame,group,score\r\n\r\n${rows.join('\n')}\n\n${rows.map((r) => r.replace('x', 'y')).join('\n')}`;
    const parsed = parseScoresCsv(text, 'scores.csv', 'distance');
    expect(parsed.groups.map((g) => g.name)).toEqual(['group "x", 1', 'group "y", 1']);
    expect(Array.from(parsed.groups[0]!.distances.slice(0, 3))).toEqual([0, 0.25, 0.5]);
    expect(parsed.groups[0]!.same[1]).toBe(0);
  });

  it('maps each group fold values, in ascending order, to 0..K-1', () => {
    const text = ['group,same,score,fold', 'a,1,0.5,7', 'a,0,0.1,3', 'a,1,0.4,3', 'a,0,0.2,7'].join('\n');
    const parsed = parseScoresCsv(text, 'f.csv');
    expect(Array.from(parsed.groups[0]!.folds!)).toEqual([1, 0, 0, 1]);
    expect(parsed.explicitFolds).toBe(true);
  });

  it('splits quoted CSV fields, a trailing empty field included', () => {
    const rows = Array.from({ length: 10 }, (_, i) => `"a,b",${i % 2},"0.${i}"`);
    const parsed = parseScoresCsv(['group,same,score', ...rows].join('\n'), 'f.csv');
    expect(parsed.groups[0]!.name).toBe('a,b');
    expect(parsed.groups[0]!.distances[3]).toBeCloseTo(2 - 2 * 0.3, 12);
    expect(failure('group,same,score,fold\na,1,0.5,').expected).toMatch(/non-negative integer fold/);
  });

  it('names the file, line and expected form of every malformed line', () => {
    const head = 'group,same,score';
    const cases: [string, number | undefined, RegExp][] = [
      ['', undefined, /header/],
      ['group,same', 1, /group,same,score/],
      ['group,same,score,extra', 1, /group,same,score/],
      ['group,same,score,score', 1, /group,same,score/],
      [`${head}\na,1`, 2, /one value per column/],
      [`${head}\na,1,0.5\na,yes,0.5`, 3, /1, 0, true or false/],
      [`${head}\na,1,0.5\na,1,abc`, 3, /finite number/],
      [`${head}\na,1,`, 2, /finite number/],
      [`${head}\na,1,1.5`, 2, /cosine similarity in \[-1, 1\]/],
      [`${head}\n,1,0.5`, 2, /group name/],
      [`${head}\na,1,"0.5`, 2, /quoted as/],
      [`${head}\na,1,0.5\na,0,0"1`, 3, /quoted as/],
      [`group,same,score,fold\na,1,0.5,x`, 2, /non-negative integer fold/],
      [`group,same,score,fold\na,1,0.5,-1`, 2, /non-negative integer fold/],
      [`${head}\n`, undefined, /one line per pair/],
      [[head, ...lines('a', 9)].join('\n'), 2, /at least 10 pairs per group/],
      [
        [head, ...lines('a', 10, () => 0.5).map((l) => l.replace(/,0,/, ',1,'))].join('\n'),
        2,
        /both genuine/,
      ],
      [['group,same,score,fold', 'a,1,0.5,1', 'a,0,0.5,1'].join('\n'), 2, /at least 2 distinct folds/],
    ];
    for (const [text, line, expected] of cases) {
      const error = failure(text);
      expect(error.file, text).toBe('scores.csv');
      expect(error.line, text).toBe(line);
      expect(error.expected ?? '', text).toMatch(expected);
    }
    const negative = failure(`${head}\na,1,-0.5`, 'distance');
    expect(negative.line).toBe(2);
    expect(negative.expected).toMatch(/distance >= 0/);
  });

  it('reads a file from disk and reports a missing one', async () => {
    const dir = tempDir();
    const file = path.join(dir, 's.csv');
    writeFileSync(file, ['group,same,score', ...lines('a', 10), ...lines('b', 10)].join('\n'));
    const read = await readScoresCsv(file);
    expect(read.groups.length).toBe(2);
    expect(read.bytes.length).toBeGreaterThan(0);
    await expect(readScoresCsv(path.join(dir, 'missing.csv'))).rejects.toMatchObject({
      kind: 'missing-file',
    });
  });
});
