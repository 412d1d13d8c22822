import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { softwareVersion } from '../../../main/base/version.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import {
  type Checkpoint,
  createDiscriminator,
  createIResNet,
  createMarginHead,
  disposeParams,
  forward,
  iresnetParameterCount,
  iresnetSpec,
  loadCheckpoint,
  readCheckpoint,
  saveCheckpoint,
} from '../../../main/models/index.ts';

const spec = iresnetSpec({ depth: 18, width: 0.125, inputSize: 32, embeddingSize: 16 });
const groups = ['group-a', 'group-b', 'group-c'];
let root: string;
let checkpoint: Checkpoint;

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-checkpoint-'));
  const model = createIResNet(spec, 1);
  // Move the running statistics away from 0/1 so that a lost buffer would show.
  tf.tidy(() =>
    forward(model, tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D, { training: true }),
  );
  checkpoint = {
    model,
    groups,
    classCount: 7,
    provenance: {
      data: { dataset: 'synthetic', seed: 1 },
      config: { preset: 'baseline' },
      metrics: { accuracy: 0.5 },
    },
    head: createMarginHead(16, 7, 2),
    margin: { kind: 'cosface', s: 30, m: 0.4 },
    discriminator: createDiscriminator(3, { width: 0.125 }, 3),
    optimizer: {
      state: { kind: 'sgd', step: 12, lr: 0.1 },
      tensors: { 'momentum/fc.bias': tf.fill([16], 0.5) },
    },
  };
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

async function expectGabnError(promise: Promise<unknown>, pattern: RegExp): Promise<GabnError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GabnError);
    expect((error as Error).message).toMatch(pattern);
    return error as GabnError;
  }
  throw new Error(`expected a GabnError matching ${pattern}`);
}

function editJson(dir: string, edit: (json: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'checkpoint.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(file, JSON.stringify(json));
}

async function fresh(name: string, storage: 'float32' | 'float16' = 'float32'): Promise<string> {
  const dir = path.join(root, `${name}.gabn`);
  await saveCheckpoint(dir, checkpoint, { storage });
  return dir;
}

function sameValues(
  a: Record<string, tf.Tensor>,
  b: Record<string, tf.Tensor>,
  tolerance: (x: number) => number,
): void {
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const [name, t] of Object.entries(a)) {
    const x = t.dataSync();
    const y = b[name]!.dataSync();
    expect(y.length, name).toBe(x.length);
    // One assertion per tensor: the first entry out of tolerance, if any.
    const bad = x.findIndex((v, i) => !(Math.abs(y[i]! - v) <= tolerance(v)));
    expect(bad === -1 ? null : { index: bad, saved: x[bad], loaded: y[bad] }, name).toBeNull();
  }
}

describe('checkpoint round trip', () => {
  it('float32: every tensor, the description and the embedding come back exactly', async () => {
    const dir = await fresh('exact');
    expect(readdirSync(dir).sort()).toEqual(
      ['checkpoint.json', 'discriminator.bin', 'head.bin', 'optimizer.bin', 'weights.bin'].sort(),
    );
    const loaded = await loadCheckpoint(dir);
    expect(loaded.model.spec).toEqual(spec);
    expect(loaded.groups).toEqual(groups);
    expect(loaded.classCount).toBe(7);
    expect(loaded.margin).toEqual({ kind: 'cosface', s: 30, m: 0.4 });
    expect(loaded.json.parameterCount).toBe(iresnetParameterCount(spec));
    expect(loaded.json.provenance.softwareVersion).toBe(softwareVersion().version);
    expect(loaded.json.provenance.data).toEqual({ dataset: 'synthetic', seed: 1 });
    expect(Date.now() - Date.parse(loaded.json.provenance.createdAt)).toBeLessThan(60_000);
    expect(loaded.optimizer?.state).toEqual({ kind: 'sgd', step: 12, lr: 0.1 });
    sameValues(checkpoint.model.params, loaded.model.params, () => 0);
    sameValues(checkpoint.head!.params, loaded.head!.params, () => 0);
    sameValues(checkpoint.discriminator!.params, loaded.discriminator!.params, () => 0);
    sameValues(checkpoint.optimizer!.tensors, loaded.optimizer!.tensors, () => 0);
    // Trainability survives: running statistics and the fixed BN1d scale are not trained.
    expect(loaded.model.params['features.weight']!.trainable).toBe(false);
    expect(loaded.model.params['bn1.running_var']!.trainable).toBe(false);
    expect(loaded.model.params['conv1.weight']!.trainable).toBe(true);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const a = forward(checkpoint.model, x, { training: false }).dataSync();
    const b = forward(loaded.model, x, { training: false }).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    disposeParams(loaded.model.params);
  });

  it('float16: files are half the size, values within 2^-11 relative, the manifest is tfjs-readable', async () => {
    const full = await fresh('full');
    const half = await fresh('half', 'float16');
    expect(statSync(path.join(half, 'weights.bin')).size * 2).toBe(
      statSync(path.join(full, 'weights.bin')).size,
    );
    const loaded = await loadCheckpoint(half);
    sameValues(checkpoint.model.params, loaded.model.params, (x) =>
      Math.max(Math.abs(x) * 2 ** -11, 2 ** -25),
    );
    // tfjs itself decodes weights.bin with the manifest to the same values.
    const json = loaded.json;
    const bytes = readFileSync(path.join(half, 'weights.bin'));
    const decoded = tf.io.decodeWeights(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      json.weights[0]!.weights,
    );
    for (const [name, v] of Object.entries(loaded.model.params)) {
      expect(Array.from(decoded[name]!.dataSync()), name).toEqual(Array.from(v.dataSync()));
    }
    expect(json.weights[0]!.weights[0]).toEqual({
      name: 'conv1.weight',
      shape: [3, 3, 3, 8],
      dtype: 'float32',
      quantization: { dtype: 'float16' },
    });
    disposeParams(loaded.model.params);
  });

  it('replaces an existing checkpoint atomically and leaves no temporary directory', async () => {
    const dir = await fresh('replace');
    editJson(dir, (j) => {
      (j.provenance as Record<string, unknown>).createdAt = '2000-01-01T00:00:00.000Z';
    });
    await saveCheckpoint(`${dir}${path.sep}`, checkpoint); // a trailing separator names the same directory
    const files = await readCheckpoint(dir);
    expect(files.json.provenance.createdAt).not.toBe('2000-01-01T00:00:00.000Z');
    expect(readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('refuses to replace a directory that is not a checkpoint, and keeps the old one when saving fails', async () => {
    const other = path.join(root, 'photos.gabn');
    rmSync(other, { recursive: true, force: true });
    await import('node:fs').then((fs) => fs.mkdirSync(other));
    writeFileSync(path.join(other, 'keep.txt'), 'mine');
    await expectGabnError(saveCheckpoint(other, checkpoint), /not a GABN checkpoint: refusing/);
    expect(readFileSync(path.join(other, 'keep.txt'), 'utf8')).toBe('mine');

    const dir = await fresh('diverged');
    const before = readFileSync(path.join(dir, 'weights.bin'));
    const broken = createIResNet(spec, 9);
    broken.params['layer2.0.conv1.weight']!.assign(
      tf.fill(broken.params['layer2.0.conv1.weight']!.shape, Number.NaN),
    );
    await expectGabnError(
      saveCheckpoint(dir, { ...checkpoint, model: broken }),
      /'layer2\.0\.conv1\.weight' holds NaN/,
    );
    expect(readFileSync(path.join(dir, 'weights.bin')).equals(before)).toBe(true);
    expect(readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([]);
    await expectGabnError(
      saveCheckpoint(path.join(root, 'no-extension'), checkpoint),
      /must be named <name>\.gabn/,
    );
    disposeParams(broken.params);
  });
});

describe('checkpoint validation says what does not match', () => {
  it('a missing directory, checkpoint.json or tensor file', async () => {
    await expectGabnError(
      readCheckpoint(path.join(root, 'nowhere.gabn')),
      /nowhere\.gabn: no such checkpoint/,
    );
    const dir = await fresh('missing');
    rmSync(path.join(dir, 'head.bin'));
    const e = await expectGabnError(readCheckpoint(dir), /lacks head\.bin, listed in head\.weights/);
    expect(e.kind).toBe('missing-file');
    rmSync(path.join(dir, 'checkpoint.json'));
    await expectGabnError(readCheckpoint(dir), /has no checkpoint\.json/);
  });

  it('a newer format version, an unknown architecture, malformed JSON with its line', async () => {
    const dir = await fresh('version');
    editJson(dir, (j) => {
      j.formatVersion = 2;
    });
    await expectGabnError(
      readCheckpoint(dir),
      /written by a newer GABN Studio: format 2, this version reads 1/,
    );
    const arch = await fresh('arch');
    editJson(arch, (j) => {
      (j.architecture as Record<string, unknown>).family = 'mobilefacenet';
    });
    await expectGabnError(readCheckpoint(arch), /architecture\.family: unknown architecture 'mobilefacenet'/);
    editJson(arch, (j) => {
      (j.architecture as Record<string, unknown>).family = 'iresnet';
      (j.architecture as Record<string, unknown>).depth = 19;
    });
    await expectGabnError(readCheckpoint(arch), /unknown architecture: unknown depth 19/);
    const bad = await fresh('syntax');
    const file = path.join(bad, 'checkpoint.json');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[3] = `${lines[3]} oops`;
    writeFileSync(file, lines.join('\n'));
    const e = await expectGabnError(readCheckpoint(bad), /checkpoint\.json:4: not valid JSON/);
    expect(e.line).toBe(4);
  });

  it('a parameter count that disagrees with the architecture; imported architectures only when asked for', async () => {
    const dir = await fresh('count');
    editJson(dir, (j) => {
      j.parameterCount = 12;
    });
    await expectGabnError(readCheckpoint(dir), /parameterCount is 12, iresnet18-w0\.125-32-e16 has \d+/);
    const imported = await fresh('imported');
    editJson(imported, (j) => {
      j.architecture = { family: 'other-net', name: 'other-net-32', inputSize: 32, embeddingSize: 16 };
    });
    await expectGabnError(loadCheckpoint(imported), /unknown architecture 'other-net'/);
    const files = await readCheckpoint(imported, { anyArchitecture: true });
    expect(files.json.architecture).toEqual({
      family: 'other-net',
      name: 'other-net-32',
      inputSize: 32,
      embeddingSize: 16,
    });
    expect(files.weights.get('conv1.weight')).toHaveLength(3 * 3 * 3 * 8);
    // Still checked against its own manifest: bytes and values.
    writeFileSync(path.join(imported, 'weights.bin'), Buffer.alloc(8));
    await expectGabnError(readCheckpoint(imported, { anyArchitecture: true }), /weights\.bin is 8 bytes/);
  });

  it('wrong shapes, missing and unexpected tensors', async () => {
    const dir = await fresh('shapes');
    editJson(dir, (j) => {
      const w = (j.weights as { weights: { name: string; shape: number[] }[] }[])[0]!.weights;
      w.find((t) => t.name === 'layer1.0.conv1.weight')!.shape = [3, 3, 8, 9];
    });
    await expectGabnError(
      readCheckpoint(dir),
      /'layer1\.0\.conv1\.weight' has shape \[3, 3, 8, 9\], expected \[3, 3, 8, 8\]/,
    );
    const missing = await fresh('missing-tensor');
    editJson(missing, (j) => {
      const g = (j.weights as { weights: { name: string }[] }[])[0]!;
      g.weights = g.weights.filter((t) => t.name !== 'prelu.weight');
    });
    await expectGabnError(readCheckpoint(missing), /weights lacks 1 tensor\(s\): prelu\.weight/);
    const extra = await fresh('extra-tensor');
    editJson(extra, (j) => {
      const g = (j.weights as { weights: { name: string }[] }[])[0]!;
      g.weights.push({ name: 'layer5.0.conv1.weight', shape: [1], dtype: 'float32' } as { name: string });
    });
    await expectGabnError(readCheckpoint(extra), /does not have: layer5\.0\.conv1\.weight/);
    const groupsDir = await fresh('groups');
    editJson(groupsDir, (j) => {
      j.groups = ['group-a', 'group-b'];
    });
    await expectGabnError(readCheckpoint(groupsDir), /discriminator\.groups: is 3 but 2 groups are named/);
  });

  it('a weights.bin whose size differs from the manifest, and NaN or Inf values', async () => {
    const dir = await fresh('truncated');
    const file = path.join(dir, 'weights.bin');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 4));
    await expectGabnError(
      readCheckpoint(dir),
      new RegExp(`weights\\.bin is ${bytes.length - 4} bytes, the manifest describes ${bytes.length} bytes`),
    );
    const nan = await fresh('nan');
    const nanFile = path.join(nan, 'weights.bin');
    const data = readFileSync(nanFile);
    // conv1.weight is first: put NaN at index 5 and +Inf at index 6.
    data.writeFloatLE(Number.NaN, 5 * 4);
    data.writeFloatLE(Number.POSITIVE_INFINITY, 6 * 4);
    writeFileSync(nanFile, data);
    await expectGabnError(
      readCheckpoint(nan),
      /'conv1\.weight' holds 2 non-finite value\(s\) \(first: NaN at index 5\)/,
    );
  });
});
