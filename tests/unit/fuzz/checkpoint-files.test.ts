/**
 * Fuzzing what a checkpoint from elsewhere is read through: checkpoint.json (its text, and its
 * structure, the weights manifests above all), the tfjs weights manifest the importers read, and a
 * whole checkpoint folder on disk whose checkpoint.json was mutated against its real weights.
 * Thousands of seeded inputs: each accepted, or refused with a GabnError naming the file, fast.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { createPrng } from '../../../main/base/random.ts';
import { loadEngine } from '../../../main/engine/index.ts';
import { readCheckpoint } from '../../../main/models/checkpoint.ts';
import { parseCheckpointJson } from '../../../main/models/checkpoint-schema.ts';
import { decodeWeightGroup, parseWeightsManifest } from '../../../main/models/importers/tfjs-weights.ts';
import { FUZZ_INPUT_MS, fuzz, mutateJson, mutateText } from '../../helpers/fuzz.ts';
import { writeTinyCheckpoint } from '../../helpers/tiny-checkpoint.ts';

const DEMO = readFileSync('resources/demo/synthetic-baseline.gabn/checkpoint.json', 'utf8');
const FILE = 'x.gabn/checkpoint.json';
const BAD_MESSAGE = /\[object |Cannot read propert|is not a function|undefined/;

function checkRefusal(error: GabnError, input: string): void {
  expect(['malformed', 'checkpoint']).toContain(error.kind);
  expect(error.file).toBe(FILE);
  expect(error.message).not.toMatch(BAD_MESSAGE);
  if (error.line !== undefined) expect(error.line).toBeLessThanOrEqual(input.split('\n').length);
}

/** Where mutations of checkpoint.json are aimed, most of the time. */
const TARGETS: (string | number)[][] = [
  ['weights'],
  ['weights', 0, 'weights'],
  ['architecture'],
  ['head'],
  [],
];

let dir: string;

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-ckpt-fuzz-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoint.json under fuzzing', () => {
  it('2000 mutations of its text: parsed, or refused naming the file (and the line of a syntax error)', () => {
    const outcome = fuzz('checkpoint.json text', {
      seed: 101,
      count: 2000,
      maxMs: FUZZ_INPUT_MS,
      make: (random) => mutateText(DEMO, random),
      parse: (text) => parseCheckpointJson(text, FILE, { anyArchitecture: text.length % 2 === 0 }),
      checkError: checkRefusal,
    });
    expect(outcome.refused).toBeGreaterThan(0);
  });

  it('2000 mutations of its structure, the weights manifest above all: validated, or refused naming the field', () => {
    const demo = JSON.parse(DEMO);
    const outcome = fuzz('checkpoint.json structure', {
      seed: 103,
      count: 2000,
      maxMs: FUZZ_INPUT_MS,
      make: (random, i) => JSON.stringify(mutateJson(demo, random, TARGETS[i % TARGETS.length])),
      parse: (text) => parseCheckpointJson(text, FILE, { anyArchitecture: text.length % 2 === 0 }),
      checkError: (error, input) => {
        checkRefusal(error, input);
        expect(error.message).toMatch(/^x\.gabn\/checkpoint\.json: /);
      },
      checkResult: (json) => {
        const j = json as ReturnType<typeof parseCheckpointJson>;
        for (const group of j.weights) {
          expect(group.paths.every((p) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(p))).toBe(true);
          for (const w of group.weights)
            expect(w.shape.every((d) => Number.isInteger(d) && d >= 0)).toBe(true);
        }
      },
    });
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  });
});

describe('tfjs weights manifests under fuzzing', () => {
  const manifest = [
    {
      paths: ['group1-shard1of1.bin'],
      weights: [
        { name: 'a', shape: [2, 3], dtype: 'float32' },
        { name: 'b', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
        { name: 'c', shape: [1], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 2 } },
      ],
    },
  ];
  const bytes = new Uint8Array(6 * 4 + 4 + 2).map((_, i) => (i * 37) % 256);

  it('4000 mutated manifests decoded against their shard: weights, or a GabnError naming the manifest', () => {
    const outcome = fuzz('weights manifest', {
      seed: 107,
      count: 4000,
      maxMs: FUZZ_INPUT_MS,
      make: (random, i) =>
        i % 4 === 0
          ? mutateText(JSON.stringify(manifest, null, 2), random)
          : JSON.stringify(mutateJson(manifest, random)),
      parse: (text) => parseWeightsManifest(text, 'm.json').map((g) => decodeWeightGroup(g, bytes, 'm.json')),
      checkError: (error) => {
        expect(error.kind).toBe('malformed');
        expect(error.file).toBe('m.json');
        // The wording of the importers' messages is theirs ("dtype undefined" for a missing one).
        expect(error.message).not.toMatch(/Cannot read propert|is not a function/);
      },
      // Values are not checked here: a scale that overflows float32 is refused where the weights are
      // used (readCheckpoint and the face-api reader refuse non-finite weights).
    });
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  });
});

describe('a checkpoint folder on disk under fuzzing', () => {
  it('300 mutated checkpoint.json beside their real weights: read, or refused at once', async () => {
    const source = await writeTinyCheckpoint(path.join(dir, 'source'));
    const original = JSON.parse(readFileSync(path.join(source, 'checkpoint.json'), 'utf8'));
    const random = createPrng(109);
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const text = JSON.stringify(mutateJson(original, random, TARGETS[i % TARGETS.length]));
      writeFileSync(path.join(source, 'checkpoint.json'), text);
      const start = performance.now();
      const outcome = await readCheckpoint(source, { anyArchitecture: i % 2 === 0 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      const ms = performance.now() - start;
      const where = `input ${i}: ${text.slice(0, 300)}`;
      expect(ms, where).toBeLessThan(2000);
      if (outcome === undefined) continue;
      if (!(outcome instanceof GabnError)) throw new Error(`${where} threw ${(outcome as Error).stack}`);
      refused++;
      expect(outcome.file, where).toMatch(new RegExp(`^${source}/`));
      expect(outcome.message, `${where}: ${outcome.message}`).not.toMatch(BAD_MESSAGE);
    }
    expect(refused).toBeGreaterThan(0);
  });
});
