/**
 * Fuzzing the parsers of RFW's text files, one line at a time, and the text decoding every list file
 * goes through (UTF-8, a leading byte order mark, UTF-16 named): thousands of seeded random and
 * mutated inputs each, every one accepted or refused with a GabnError at its file and line, fast.
 */
import { describe, expect, it } from 'vitest';
import { decodeUtf8Text } from '../../../main/base/untrusted-files.ts';
import {
  parseImagesLine,
  parseLandmarkLine,
  parsePairLine,
  parsePeopleLine,
} from '../../../main/data/rfw-lines.ts';
import { FUZZ_INPUT_MS, fuzz, mutateText, randomText } from '../../helpers/fuzz.ts';

const LINE_PARSERS: [string, (text: string) => unknown, string[]][] = [
  ['pairs', (t) => parsePairLine(t, 'x_pairs.txt', 7), ['m.0a11\t1\t2', 'm.0a11\t1\tm.0b22\t3']],
  [
    'landmarks',
    (t) => parseLandmarkLine(t, 'x_lmk.txt', 7),
    ['/test/data/Alpha/m.0a11/m.0a11_0001.jpg\t0\t16.4 22.2 31.5 22.1 24.0 30.7 17.8 39.6 30.3 39.5'],
  ],
  ['images', (t) => parseImagesLine(t, 'x_images.txt', 7), ['m.0a11_0001.jpg\t0']],
  ['people', (t) => parsePeopleLine(t, 'x_people.txt', 7), ['m.0a11\t3']],
];

describe('RFW line parsers under fuzzing', () => {
  for (const [name, parse, seeds] of LINE_PARSERS) {
    it(`${name}: 4000 random and mutated lines, each parsed or refused at its line`, () => {
      const outcome = fuzz(name, {
        seed: name.length * 7919,
        count: 4000,
        maxMs: FUZZ_INPUT_MS,
        make: (random, i) =>
          i % 3 === 0 ? randomText(random) : mutateText(seeds[i % seeds.length]!, random),
        parse,
        checkError: (error) => {
          expect(error.kind).toBe('malformed');
          expect(error.line).toBe(7);
          expect(error.file).toMatch(/^x_/);
          expect(error.expected).toBeTruthy();
        },
        checkResult: (result) => {
          if (name === 'landmarks') {
            const { landmarks } = result as { landmarks: number[] };
            expect(landmarks.every(Number.isFinite)).toBe(true);
          }
          if (name === 'pairs') {
            const pair = result as { first: number; second: number };
            expect(pair.first).toBeGreaterThanOrEqual(1);
            expect(pair.second).toBeGreaterThanOrEqual(1);
          }
        },
      });
      // Both outcomes must occur, or the fuzzing exercised only one path.
      expect(outcome.accepted).toBeGreaterThan(0);
      expect(outcome.refused).toBeGreaterThan(0);
    });
  }

  it('valid lines parse to what they say', () => {
    expect(parsePairLine('m.0a11\t1\t2', 'f', 1)).toEqual({
      same: true,
      identity: 'm.0a11',
      first: 1,
      second: 2,
    });
    expect(parsePairLine('m.0a11\t1\tm.0b22\t3', 'f', 1)).toEqual({
      same: false,
      identity: 'm.0a11',
      first: 1,
      otherIdentity: 'm.0b22',
      second: 3,
    });
    expect(parseLandmarkLine(LINE_PARSERS[1]![2][0]!, 'f', 1).landmarks[9]).toBe(39.5);
  });
});

describe('text decoding under fuzzing', () => {
  it('4000 random byte strings: text without a leading BOM, or a malformed error at the line of the first bad byte', () => {
    const valid = Buffer.from('\uFEFFm.0a11\t1\t2\nm.0a11\t1\tm.0b22\t3\né\n', 'utf8');
    const outcome = fuzz('utf-8', {
      seed: 11,
      count: 4000,
      maxMs: FUZZ_INPUT_MS,
      make: (random) => {
        const bytes = Buffer.from(valid);
        for (let k = random.int(0, 3); k > 0; k--)
          bytes[random.int(0, bytes.length - 1)] = random.int(0, 255);
        return bytes.toString('latin1');
      },
      parse: (input) => decodeUtf8Text(Buffer.from(input, 'latin1'), 'x.txt'),
      checkError: (error, input) => {
        expect(error.kind).toBe('malformed');
        expect(error.file).toBe('x.txt');
        const lines = input.split('\n').length;
        expect(error.line).toBeGreaterThanOrEqual(1);
        expect(error.line).toBeLessThanOrEqual(lines);
        expect(error.message).toMatch(/UTF-8|UTF-16/);
      },
      checkResult: (text) => expect((text as string).charCodeAt(0)).not.toBe(0xfeff),
    });
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  });

  it('one policy: a leading BOM is dropped, one elsewhere is kept, UTF-16 is named', () => {
    expect(decodeUtf8Text(Buffer.from('\uFEFFa\n\uFEFFb'), 'f')).toBe('a\n\uFEFFb');
    expect(() => decodeUtf8Text(Buffer.from('\uFEFFpath', 'utf16le'), 'f')).toThrow(
      /f:1: the file is UTF-16 text/,
    );
    expect(() => decodeUtf8Text(Buffer.from([0x61, 0x0a, 0x62, 0xff]), 'f')).toThrow(
      /f:2: the file is not valid UTF-8 \(byte 4\)/,
    );
  });
});
