/**
 * Checkpoints from elsewhere, broken or hostile: weights that are a link to /dev/zero, to a file
 * outside the checkpoint, a folder, a file of gigabytes; a checkpoint.json that is null, a folder or
 * a link out. Each is refused at once (nothing is read without end, nothing outside the folder is
 * read) with a GabnError naming the file, by the reader, by the embedder of any family, and by
 * `gabn checkpoint info` without a stack trace.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { loadEngine } from '../../../main/engine/index.ts';
import { checkpointHash } from '../../../main/eval/embeddings.ts';
import { readCheckpoint, readCheckpointJson } from '../../../main/models/checkpoint.ts';
import { loadEmbedder } from '../../../main/models/embedder.ts';

const DEMO = path.resolve('resources/demo/synthetic-baseline.gabn');
let base: string;
let secret: string;

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
  base = mkdtempSync(path.join(os.tmpdir(), 'gabn-hostile-ckpt-'));
  secret = path.join(base, 'secret.bin');
  writeFileSync(secret, Buffer.alloc(1_936_320, 1));
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A copy of the demo checkpoint, with `change` applied to it. */
function broken(name: string, change: (dir: string) => void): string {
  const dir = path.join(base, `${name}.gabn`);
  cpSync(DEMO, dir, { recursive: true });
  change(dir);
  return dir;
}

async function refusal(promise: Promise<unknown>): Promise<GabnError> {
  const start = performance.now();
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  // At once: nothing was read to the end of a device or a huge file.
  expect(performance.now() - start).toBeLessThan(3000);
  if (!(error instanceof GabnError)) throw new Error(`expected a GabnError, got ${String(error)}`);
  return error;
}

const weights = (dir: string) => path.join(dir, 'weights.bin');
const replace = (file: string, by: (file: string) => void) => {
  rmSync(file, { recursive: true, force: true });
  by(file);
};

describe('hostile weights files', () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      'zero',
      (d) => replace(weights(d), (f) => symlinkSync('/dev/zero', f)),
      /weights\.bin: weights\.bin is a device/,
    ],
    [
      'outside',
      (d) => replace(weights(d), (f) => symlinkSync(secret, f)),
      /weights\.bin is a link that leads out of /,
    ],
    ['folder', (d) => replace(weights(d), (f) => mkdirSync(f)), /weights\.bin is a folder/],
    [
      'huge',
      (d) => truncateSync(weights(d), 3 * 1024 ** 3),
      /weights\.bin is 3221225472 bytes, the manifest describes 1936320 bytes/,
    ],
    [
      'short',
      (d) => truncateSync(weights(d), 1000),
      /weights\.bin is 1000 bytes, the manifest describes 1936320 bytes/,
    ],
    ['missing', (d) => rmSync(weights(d)), /the checkpoint lacks weights\.bin, listed in weights/],
  ];
  for (const [name, change, expected] of cases) {
    it(`${name}: refused at once by the reader and the embedder, naming the file`, async () => {
      const dir = broken(name, change);
      for (const read of [
        () => readCheckpoint(dir),
        () => readCheckpoint(dir, { anyArchitecture: true }),
        () => loadEmbedder(dir),
      ]) {
        const error = await refusal(read());
        expect(error.message).toMatch(expected);
        expect(error.file).toBe(weights(dir));
      }
      // The embedding cache's key is made of what a checkpoint may hold only.
      expect(() => checkpointHash(dir)).not.toThrow();
    });
  }

  it('an imported family is checked the same way before its own reader reads a byte', async () => {
    const dir = broken('imported', (d) => {
      const json = JSON.parse(readFileSync(path.join(d, 'checkpoint.json'), 'utf8'));
      json.architecture = {
        family: 'face-api-resnet',
        name: 'face-api-resnet',
        inputSize: 150,
        embeddingSize: 128,
      };
      json.inputSize = 150;
      json.embeddingSize = 128;
      delete json.head;
      writeFileSync(path.join(d, 'checkpoint.json'), JSON.stringify(json));
      replace(weights(d), (f) => symlinkSync('/dev/zero', f));
    });
    expect(readCheckpointJson(dir, { anyArchitecture: true }).architecture.family).toBe('face-api-resnet');
    expect((await refusal(loadEmbedder(dir))).message).toMatch(/weights\.bin is a device/);
  });
});

describe('hostile checkpoint.json', () => {
  const json = (dir: string) => path.join(dir, 'checkpoint.json');
  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      'null',
      (d) => writeFileSync(json(d), 'null\n'),
      /checkpoint\.json: checkpoint: is null \(expected an object\)/,
    ],
    ['array', (d) => writeFileSync(json(d), '[]'), /checkpoint: is an array \(expected an object\)/],
    ['a folder', (d) => replace(json(d), (f) => mkdirSync(f)), /checkpoint\.json is a folder/],
    ['zero', (d) => replace(json(d), (f) => symlinkSync('/dev/zero', f)), /checkpoint\.json is a device/],
    [
      'outside',
      (d) => replace(json(d), (f) => symlinkSync(path.join(DEMO, 'checkpoint.json'), f)),
      /checkpoint\.json is a link that leads out of/,
    ],
    [
      'not UTF-8',
      (d) => writeFileSync(json(d), Buffer.from([0x7b, 0x0a, 0xff, 0x7d])),
      /checkpoint\.json:2: checkpoint\.json is not valid UTF-8/,
    ],
    ['not JSON', (d) => writeFileSync(json(d), '{\n"format": \n'), /checkpoint\.json(:\d)?: not valid JSON/],
  ];
  for (const [name, change, expected] of cases) {
    it(`${name}: a clear error from the reader and the embedder`, async () => {
      const dir = broken(`json-${name.replace(/ /g, '-')}`, change);
      for (const read of [() => readCheckpoint(dir), () => loadEmbedder(dir)]) {
        const error = await refusal(read());
        expect(error.message).toMatch(expected);
        expect(error.message).not.toMatch(/Cannot read properties/);
      }
    });
  }

  it('gabn checkpoint info says what is wrong and exits 2, without a stack trace', () => {
    for (const dir of [
      broken('cli-zero', (d) => replace(weights(d), (f) => symlinkSync('/dev/zero', f))),
      broken('cli-folder', (d) => replace(json(d), (f) => mkdirSync(f))),
    ]) {
      const run = spawnSync(process.execPath, ['bin/gabn.js', 'checkpoint', 'info', dir], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^gabn: .*(is a device|is a folder)/);
      expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
    }
  });
});
