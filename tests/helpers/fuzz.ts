/**
 * Seeded mutation fuzzing for the parsers of files from elsewhere: valid inputs are mutated (bytes
 * and lines for text, nodes for JSON) with the project's one generator (main/base/random.ts), so a
 * failure names a seed and an index that reproduce it. A parser may accept an input or refuse it
 * with a GabnError; anything else thrown, or an input that takes longer than its bound, fails.
 */
import { expect } from 'vitest';
import { GabnError } from '../../main/base/errors.ts';
import { createPrng, type Prng } from '../../main/base/random.ts';

/** Pieces that break parsers: separators, quotes, line ends, a BOM, NUL, numbers at their limits. */
const PIECES = [
  '\t',
  ' ',
  ',',
  '"',
  '""',
  "'",
  '/',
  '\\',
  '.',
  '..',
  '../',
  '-',
  '_',
  '0',
  '1',
  '9',
  'e',
  'x',
  '\n',
  '\r',
  '\r\n',
  '\n\n',
  '\uFEFF',
  '\u0000',
  'é',
  '\uD800',
  '\uFFFD',
  '[',
  ']',
  '{',
  '}',
  ':',
  '1e400',
  '-1',
  '1.5',
  'NaN',
  'Infinity',
  '99999999999999999999',
  '/test/data/',
  'true',
  'null',
];

const pick = <T>(random: Prng, list: readonly T[]): T => list[random.int(0, list.length - 1)]!;

/** One to four edits of `text`: characters or pieces inserted, deleted, replaced; lines repeated, dropped, swapped. */
export function mutateText(text: string, random: Prng): string {
  let out = text;
  const edits = random.int(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = random.int(0, out.length);
    const op = random.int(0, 9);
    if (op <= 2) out = out.slice(0, at) + out.slice(at + random.int(1, 3));
    else if (op <= 5) out = out.slice(0, at) + pick(random, PIECES) + out.slice(at);
    else if (op === 6) out = out.slice(0, at) + pick(random, PIECES) + out.slice(at + 1);
    else {
      const lines = out.split('\n');
      const i = random.int(0, lines.length - 1);
      const j = random.int(0, lines.length - 1);
      if (op === 7) lines.splice(i, 0, lines[j]!);
      else if (op === 8) lines.splice(i, 1);
      else [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      out = lines.join('\n');
    }
  }
  return out;
}

/** A line of random pieces. */
export function randomText(random: Prng, maxPieces = 30): string {
  return Array.from({ length: random.int(0, maxPieces) }, () => pick(random, PIECES)).join('');
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function randomValue(random: Prng, depth = 0): Json {
  switch (random.int(0, 9)) {
    case 0:
      return null;
    case 1:
      return random.next() < 0.5;
    case 2:
      return pick(random, [0, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 1e-308, 3]);
    case 3:
      return pick(random, [
        '',
        'x',
        '..',
        '../weights.bin',
        '/etc/passwd',
        'weights.bin',
        'float16',
        'float32',
      ]);
    case 4:
      return depth > 3 ? [] : [randomValue(random, depth + 1)];
    case 5:
      return depth > 3
        ? {}
        : { [pick(random, ['name', 'shape', 'dtype', 'paths', 'x'])]: randomValue(random, depth + 1) };
    case 6: {
      // Nesting far beyond any real file.
      let deep: Json = 1;
      for (let i = 0; i < random.int(10, 2000); i++) deep = [deep];
      return deep;
    }
    case 7:
      return Array.from({ length: random.int(0, 5) }, () => random.int(-3, 1 << 20));
    default:
      return randomText(random, 5);
  }
}

/** Every path to a node of `value`, objects and arrays included. */
function nodePaths(
  value: Json,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) nodePaths(v, [...prefix, i], out);
  } else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) nodePaths(v, [...prefix, k], out);
  return out;
}

/**
 * One to three edits of a JSON value's nodes (under `under`, when given, most of the time): a node
 * replaced by a value of another kind, a key removed or added, an array element repeated or dropped.
 */
export function mutateJson(value: unknown, random: Prng, under: (string | number)[] = []): unknown {
  const root = structuredClone(value) as Json;
  const edits = random.int(1, 3);
  for (let e = 0; e < edits; e++) {
    // Aimed under `under` most of the time: only that subtree's nodes are enumerated then.
    let start: (string | number)[] = [];
    let node: Json | undefined = root;
    if (under.length > 0 && random.next() < 0.8) {
      node = under.reduce<Json | undefined>(
        (n, k) => (n !== null && typeof n === 'object' ? (n as Record<string | number, Json>)[k] : undefined),
        root,
      );
      start = node === undefined ? [] : under;
      if (node === undefined) node = root;
    }
    const target = pick(random, nodePaths(node, start));
    if (target.length === 0) continue;
    const parent = target
      .slice(0, -1)
      .reduce<Json>((n, key) => (n as Record<string | number, Json>)[key]!, root) as
      | Json[]
      | Record<string, Json>;
    const key = target.at(-1)!;
    const op = random.int(0, 3);
    if (Array.isArray(parent)) {
      const i = key as number;
      if (op === 0) parent.splice(i, 1);
      else if (op === 1) parent.splice(i, 0, structuredClone(parent[i]!));
      else parent[i] = randomValue(random);
    } else if (op === 0) delete parent[key as string];
    else if (op === 1)
      parent[pick(random, ['extra', 'head', 'optimizer', 'weights', '__proto__'])] = randomValue(random);
    else parent[key as string] = randomValue(random);
  }
  return root;
}

export interface FuzzOutcome {
  readonly accepted: number;
  readonly refused: number;
  /** The slowest input, in milliseconds. */
  readonly slowest: number;
}

/**
 * The time one input may take: far above any parse of these sizes (well under a millisecond), so
 * what it catches is a parser that backtracks without end, not a pause of a busy machine.
 */
export const FUZZ_INPUT_MS = 1000;

/**
 * Runs `parse` on `count` inputs made by `make(random, index)`; fails on anything thrown that is not
 * a GabnError, on a GabnError that `checkError` refuses, and on an input slower than `maxMs`.
 */
export function fuzz(
  name: string,
  options: {
    readonly seed: number;
    readonly count: number;
    readonly maxMs: number;
    readonly make: (random: Prng, index: number) => string;
    readonly parse: (input: string) => unknown;
    readonly checkError?: (error: GabnError, input: string) => void;
    readonly checkResult?: (result: unknown, input: string) => void;
  },
): FuzzOutcome {
  const random = createPrng(options.seed);
  // One untimed call first: the first call of a parser loads and compiles what it uses.
  try {
    options.parse(options.make(createPrng(options.seed), 0));
  } catch {}
  let accepted = 0;
  let refused = 0;
  let slowest = 0;
  for (let i = 0; i < options.count; i++) {
    const input = options.make(random, i);
    const where = `${name}, seed ${options.seed}, input ${i}: ${JSON.stringify(input.slice(0, 300))}`;
    const start = performance.now();
    let result: unknown;
    let error: unknown;
    try {
      result = options.parse(input);
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - start;
    slowest = Math.max(slowest, ms);
    expect(ms, `${where} took ${ms.toFixed(1)} ms`).toBeLessThan(options.maxMs);
    const checked = (check: () => void, what: string) => {
      try {
        check();
      } catch (failure) {
        throw new Error(`${where}: ${what}: ${(failure as Error).message}`);
      }
    };
    if (error === undefined) {
      accepted++;
      checked(() => options.checkResult?.(result, input), 'the result');
      continue;
    }
    if (!(error instanceof GabnError)) {
      throw new Error(
        `${where} threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
    refused++;
    checked(() => options.checkError?.(error as GabnError, input), `the error '${error.message}'`);
  }
  return { accepted, refused, slowest };
}
