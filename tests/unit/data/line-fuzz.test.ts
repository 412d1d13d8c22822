import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import {
  parseImagesLine,
  parseLandmarkLine,
  parsePairLine,
  parsePeopleLine,
} from '../../../main/data/rfw-lines.ts';

/** Deterministic generator (mulberry32). */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = [
  '\t',
  ' ',
  ',',
  '"',
  '/',
  '.',
  '-',
  '_',
  '0',
  '1',
  '9',
  'm',
  'x',
  'e',
  '\r',
  '\\',
  'é',
  '\u0000',
  '..',
  '/test/data/',
];
const VALID = [
  'm.0a11\t1\t2',
  'm.0a11\t1\tm.0b22\t3',
  '/test/data/Alpha/m.0a11/m.0a11_0001.jpg\t0\t16.4 22.2 31.5 22.1 24.0 30.7 17.8 39.6 30.3 39.5',
  'm.0a11_0001.jpg\t0',
  'm.0a11\t3',
  '"a,b",c,"d""e"',
];

function mutate(line: string, random: () => number): string {
  const chars = [...line];
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (chars.length + 1));
    const op = random();
    if (op < 0.4) chars.splice(at, 1);
    else if (op < 0.8) chars.splice(at, 0, ALPHABET[Math.floor(random() * ALPHABET.length)]!);
    else chars.splice(at, 1, ALPHABET[Math.floor(random() * ALPHABET.length)]!);
  }
  return chars.join('');
}

function randomLine(random: () => number): string {
  const length = Math.floor(random() * 40);
  return Array.from({ length }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join('');
}

/** Each parser, with the valid lines its mutations start from. */
const PARSERS: [string, (text: string) => unknown, string[]][] = [
  ['pairs', (t) => parsePairLine(t, 'x_pairs.txt', 7), [VALID[0]!, VALID[1]!]],
  ['landmarks', (t) => parseLandmarkLine(t, 'x_lmk.txt', 7), [VALID[2]!]],
  ['images', (t) => parseImagesLine(t, 'x_images.txt', 7), [VALID[3]!]],
  ['people', (t) => parsePeopleLine(t, 'x_people.txt', 7), [VALID[4]!]],
];

describe('line parsers under fuzzing', () => {
  for (const [name, parse, seeds] of PARSERS) {
    it(`${name}: random and mutated lines give a result or a located GabnError, nothing else`, () => {
      const random = generator(name.length * 7919);
      let parsed = 0;
      let refused = 0;
      for (let i = 0; i < 4000; i++) {
        const line = i % 2 === 0 ? randomLine(random) : mutate(seeds[i % seeds.length]!, random);
        try {
          parse(line);
          parsed++;
        } catch (error) {
          expect(error).toBeInstanceOf(GabnError);
          expect((error as GabnError).kind).toBe('malformed');
          expect((error as GabnError).line).toBe(7);
          refused++;
        }
      }
      // Both outcomes must occur, or the fuzzing exercised only one path.
      expect(parsed).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
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
    expect(parseLandmarkLine(VALID[2]!, 'f', 1).landmarks[9]).toBe(39.5);
  });
});
