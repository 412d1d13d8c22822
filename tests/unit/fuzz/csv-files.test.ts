/**
 * Fuzzing the three CSV formats as whole files (the manifest, the pairs, the scores): thousands of
 * seeded mutations of valid files each, line ends, quotes, BOMs and NULs included. In strict mode a
 * file is accepted or refused with one GabnError at a line of the file; in collecting mode (what
 * `gabn data check` uses) nothing is ever thrown and every problem names the file and a line.
 */
import { describe, expect, it } from 'vitest';
import type { GabnError } from '../../../main/base/errors.ts';
import { ProblemLog } from '../../../main/data/dataset.ts';
import { parseManifestCsv } from '../../../main/data/manifest-csv.ts';
import { parsePairsCsv } from '../../../main/data/pairs-csv.ts';
import { parseScoresCsv } from '../../../main/eval/scores-csv.ts';
import { FUZZ_INPUT_MS, fuzz, mutateText } from '../../helpers/fuzz.ts';

const BASE = '/data/set';
const LANDMARKS = '16.4,22.2,31.5,22.1,24.0,30.7,17.8,39.6,30.3,39.5';

const MANIFEST = [
  `path,identity,group,x1,y1,x2,y2,x3,y3,x4,y4,x5,y5\nA/a1/1.jpg,a1,A,${LANDMARKS}\nA/a1/2.jpg,a1,A,${LANDMARKS}\n"B/b,1/1.jpg",b1,B,${LANDMARKS}\n`,
  'path,identity,group\r\nA/a1/1.jpg,a1,A\r\nB/b1/1.jpg,"b ""1""",B\r\n',
];
const PAIRS = [
  'path1,path2,same,group\nA/a1/1.jpg,A/a1/2.jpg,1,A\nA/a1/1.jpg,A/a2/1.jpg,0,A\nB/b1/1.jpg,B/b1/2.jpg,true,B\nB/b1/1.jpg,B/b2/1.jpg,false,B\n',
  'path1,path2,same,group,fold\nA/1.jpg,A/2.jpg,1,A,0\nA/1.jpg,A/3.jpg,0,A,1\nA/2.jpg,A/3.jpg,1,A,1\nA/4.jpg,A/3.jpg,0,A,0\n',
];
const pairsLines = (g: string) =>
  Array.from({ length: 10 }, (_, i) => `${g},${i % 2},${(i % 2 ? 0.1 : 0.6) + i / 100}`).join('\n');
const SCORES = [
  `group,same,score\n${pairsLines('a')}\n${pairsLines('b')}\n`,
  `\uFEFFscore,"group",same,fold\r\n0.5,a,1,0\r\n0.1,a,0,0\r\n0.6,a,1,1\r\n0.2,a,0,1\r\n`,
];

/** Lines as an editor counts them: CR LF, CR and LF each end one. */
function lineCount(text: string): number {
  return text.split(/\r\n|\r|\n/).length;
}

/** A refusal at a line of the file (or of no line, for a file-wide problem). */
function checkLocated(file: string) {
  return (error: GabnError, input: string) => {
    expect(error.file).toBe(file);
    if (error.line !== undefined) {
      expect(error.line).toBeGreaterThanOrEqual(1);
      expect(error.line).toBeLessThanOrEqual(lineCount(input));
    }
    expect(error.message).not.toMatch(/\[object |Cannot read propert|undefined/);
  };
}

function collected(parse: (problems: ProblemLog) => unknown, file: string, input: string): void {
  const problems = new ProblemLog(true);
  parse(problems);
  for (const p of problems.problems) {
    expect(p.file).toBe(file);
    expect(p.message).not.toMatch(/\[object |Cannot read propert|undefined/);
    if (p.line !== undefined) expect(p.line).toBeLessThanOrEqual(lineCount(input));
  }
}

const FORMATS: [string, string[], (text: string, problems: ProblemLog) => unknown][] = [
  ['manifest.csv', MANIFEST, (text, problems) => parseManifestCsv(text, 'manifest.csv', BASE, problems)],
  ['pairs.csv', PAIRS, (text, problems) => parsePairsCsv(text, 'pairs.csv', BASE, problems)],
];

describe('manifest and pairs CSV under fuzzing', () => {
  for (const [file, seeds, parse] of FORMATS) {
    it(`${file}: 3000 mutated files, refused at a line in strict mode, never thrown when collecting`, () => {
      const strict = fuzz(file, {
        seed: file.length * 104_729,
        count: 3000,
        maxMs: FUZZ_INPUT_MS,
        make: (random, i) => mutateText(seeds[i % seeds.length]!, random),
        parse: (text) => parse(text, new ProblemLog(false)),
        checkError: checkLocated(file),
        checkResult: (rows) => {
          for (const row of rows as { path?: string; a?: string; b?: string }[]) {
            for (const p of [row.path, row.a, row.b])
              if (p !== undefined) expect(p.startsWith(`${BASE}/`)).toBe(true);
          }
        },
      });
      expect(strict.accepted).toBeGreaterThan(0);
      expect(strict.refused).toBeGreaterThan(0);
      const collecting = fuzz(file, {
        seed: file.length * 15_485_863,
        count: 1000,
        maxMs: FUZZ_INPUT_MS,
        make: (random, i) => mutateText(seeds[i % seeds.length]!, random),
        parse: (text) => collected((problems) => parse(text, problems), file, text),
      });
      expect(collecting.refused).toBe(0);
    });
  }
});

describe('scores CSV under fuzzing', () => {
  it('3000 mutated files: pairs with finite distances, or one GabnError at a line', () => {
    const outcome = fuzz('scores.csv', {
      seed: 31,
      count: 3000,
      maxMs: FUZZ_INPUT_MS,
      make: (random, i) => mutateText(SCORES[i % SCORES.length]!, random),
      parse: (text) => parseScoresCsv(text, 'scores.csv', 'similarity'),
      checkError: checkLocated('scores.csv'),
      checkResult: (result) => {
        for (const g of (result as ReturnType<typeof parseScoresCsv>).groups) {
          expect(g.distances.every((d) => Number.isFinite(d) && d >= -1e-4 && d <= 4 + 1e-4)).toBe(true);
          expect(new Set(g.same).size).toBe(2);
        }
      },
    });
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  });
});
