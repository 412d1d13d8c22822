import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import type { CliContext } from '../../../main/cli/command.ts';
import { commands } from '../../../main/cli/commands.ts';
import { importFaceApiCommand } from '../../../main/cli/import.ts';
import { type FaceApiImport, importFaceApi } from '../../../main/models/importers/face-api.ts';
import { readFaceApiCheckpoint } from '../../../main/models/importers/face-api-checkpoint.ts';

let folder: string;
let imported: FaceApiImport;

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'gabn-import-'));
  imported = await importFaceApi();
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const context: CliContext = { signal: new AbortController().signal, stdout, stderr: new PassThrough() };
  const code = await importFaceApiCommand.run(args, context);
  return { code, stdout: Buffer.concat(chunks).toString('utf8') };
}

async function runError(args: string[]): Promise<GabnError> {
  const error = await run(args).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GabnError);
  return error as GabnError;
}

describe('gabn import face-api', () => {
  it('is registered as `gabn import face-api`', () => {
    expect(commands.filter((c) => c.path.join(' ') === 'import face-api')).toEqual([importFaceApiCommand]);
  });

  it('writes a checkpoint directory that reads back bit for bit, and says what it wrote', async () => {
    const out = path.join(folder, 'models', 'face-api.gabn');
    const { code, stdout } = await run(['--out', out]);
    expect(code).toBe(0);
    expect(stdout).toContain(`wrote ${out}`);
    expect(stdout).toMatch(/weights\.bin\s+22,458,368 bytes/); // 5,614,592 float32 values
    expect(stdout).toContain('5,614,592 in 117 tensors');
    expect(stdout).toContain(imported.provenance.source.manifestSha256);
    expect((await readdir(out)).sort()).toEqual(['checkpoint.json', 'weights.bin']);
    // nothing left beside it: the temporary directory was renamed into place
    expect(await readdir(path.dirname(out))).toEqual(['face-api.gabn']);

    const { json, weights } = await readFaceApiCheckpoint(out);
    expect(json.architecture).toEqual({
      family: 'face-api-resnet',
      inputSize: 150,
      embeddingSize: 128,
      name: 'face-api-resnet-150',
    });
    expect(json.classCount).toBe(0);
    expect(json.groups).toEqual([]);
    expect(json.parameterCount).toBe(5_614_592);
    expect(json.provenance.data.import).toEqual(JSON.parse(JSON.stringify(imported.provenance)));
    expect(weights.map((w) => w.name)).toEqual(imported.weights.map((w) => w.name));
    for (const [i, w] of weights.entries()) {
      const original = imported.weights[i]!.values;
      const first = w.values.findIndex((v, k) => !Object.is(v, original[k]));
      expect(first, `${w.name}: first differing value`).toBe(-1);
    }
  });

  it('refuses to overwrite without --force, and replaces a checkpoint with it', async () => {
    const out = path.join(folder, 'again.gabn');
    await run(['--out', out]);
    const before = await readFile(path.join(out, 'checkpoint.json'), 'utf8');
    const error = await runError(['--out', out]);
    expect(error.kind).toBe('usage');
    expect(error.message).toMatch(/already exists \(expected a new path, or --force to replace it\)/);
    await new Promise((resolve) => setTimeout(resolve, 5)); // a later createdAt
    expect((await run(['--out', out, '--force'])).code).toBe(0);
    const after = JSON.parse(await readFile(path.join(out, 'checkpoint.json'), 'utf8'));
    expect(after.provenance.createdAt).not.toBe(JSON.parse(before).provenance.createdAt);
    expect((await readdir(folder)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('never replaces a directory that is not a checkpoint, even with --force', async () => {
    const out = path.join(folder, 'photos.gabn');
    await mkdir(out);
    await writeFile(path.join(out, 'holiday.jpg'), 'not a checkpoint');
    const error = await runError(['--out', out, '--force']);
    expect(error.message).toMatch(/is not a GABN checkpoint: refusing to replace it/);
    expect(await readdir(out)).toEqual(['holiday.jpg']);
  });

  it('explains a missing or malformed --out', async () => {
    expect((await runError([])).message).toMatch(/needs --out DIR/);
    expect((await runError(['--out', path.join(folder, 'plain')])).message).toMatch(
      /must be named <name>\.gabn/,
    );
    expect((await runError(['--out', 'x.gabn', 'extra'])).message).toMatch(/unexpected argument 'extra'/);
    expect((await runError(['--outdir', 'x.gabn'])).message).toMatch(/unknown option --outdir/);
  });

  it('a damaged checkpoint is refused on reading, naming the file', async () => {
    const out = path.join(folder, 'damaged.gabn');
    await run(['--out', out]);
    await truncate(path.join(out, 'weights.bin'), 1000);
    const error = await readFaceApiCheckpoint(out).then(
      () => undefined,
      (e: unknown) => e as GabnError,
    );
    expect(error).toBeInstanceOf(GabnError);
    expect(error!.file).toBe(path.join(out, 'checkpoint.json'));
    expect(error!.message).toMatch(/runs past the end of the shards/);
  });
});
