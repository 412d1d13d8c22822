import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import {
  FACE_API_MANIFEST,
  faceApiPackageDir,
  importFaceApi,
} from '../../../main/models/importers/face-api.ts';
import {
  decodeWeightGroup,
  parseWeightsManifest,
  readWeightsManifest,
} from '../../../main/models/importers/tfjs-weights.ts';

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'gabn-tfjs-weights-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function expectGabnError(promise: Promise<unknown>, pattern: RegExp, file: string): Promise<GabnError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GabnError);
  const gabn = error as GabnError;
  expect(gabn.message).toMatch(pattern);
  expect(gabn.file).toBe(file);
  return gabn;
}

describe('decoding a weights manifest', () => {
  it('decodes float32, uint8 and uint16 weights laid end to end, at unaligned offsets', () => {
    const group = parseWeightsManifest(
      JSON.stringify([
        {
          paths: ['w.bin'],
          weights: [
            {
              name: 'q8',
              shape: [3],
              dtype: 'float32',
              quantization: { dtype: 'uint8', scale: 0.5, min: -1 },
            },
            { name: 'f', shape: [2], dtype: 'float32' },
            {
              name: 'q16',
              shape: [1],
              dtype: 'float32',
              quantization: { dtype: 'uint16', scale: 0.25, min: 2 },
            },
          ],
        },
      ]),
      'm.json',
    )[0]!;
    const bytes = new Uint8Array(3 + 8 + 2);
    bytes.set([0, 3, 255], 0);
    const view = new DataView(bytes.buffer);
    view.setFloat32(3, 1.5, true);
    view.setFloat32(7, -0.1, true);
    view.setUint16(11, 1000, true);
    const decoded = decodeWeightGroup(group, bytes, 'm.json');
    expect(decoded.map((d) => [d.name, d.storedAs, Array.from(d.values)])).toEqual([
      ['q8', 'uint8', [-1, 0.5, 126.5]],
      ['f', 'float32', [1.5, Math.fround(-0.1)]],
      ['q16', 'uint16', [252]],
    ]);
  });

  it('says which line and what was expected for a malformed manifest', () => {
    const text =
      '[\n  {"paths": ["w.bin"], "weights": [\n    {"name": "a", "shape": [2], "dtype": "int32"}\n  ]}\n]';
    const error = (() => {
      try {
        parseWeightsManifest(text, 'm.json');
      } catch (e) {
        return e as GabnError;
      }
    })();
    expect(error).toBeInstanceOf(GabnError);
    expect(error!.line).toBe(3);
    expect(error!.message).toMatch(/^m\.json:3: weight 'a' has dtype int32 \(expected float32/);
    expect(() => parseWeightsManifest('{', 'm.json')).toThrow(/not valid JSON/);
    expect(() => parseWeightsManifest('[]', 'm.json')).toThrow(/non-empty array/);
    expect(() => parseWeightsManifest('[{"paths": ["../x.bin"], "weights": []}]', 'm.json')).toThrow(
      /bad shard path/,
    );
    expect(() =>
      parseWeightsManifest(
        '[{"paths": ["w.bin"], "weights": [{"name": "a", "shape": [1], "dtype": "float32", "quantization": {"dtype": "float16"}}]}]',
        'm.json',
      ),
    ).toThrow(/unsupported quantization/);
  });

  it('refuses shards that are too short or too long', () => {
    const [group] = parseWeightsManifest(
      '[{"paths": ["w.bin"], "weights": [{"name": "a", "shape": [2], "dtype": "float32"}]}]',
      'm.json',
    );
    expect(() => decodeWeightGroup(group!, new Uint8Array(7), 'm.json')).toThrow(/runs past the end/);
    expect(() => decodeWeightGroup(group!, new Uint8Array(9), 'm.json')).toThrow(/1 bytes more/);
  });

  it('names a missing shard file', async () => {
    const manifest = path.join(folder, 'missing-shard.json');
    await writeFile(manifest, '[{"paths": ["absent.bin"], "weights": []}]');
    const error = await expectGabnError(
      readWeightsManifest(manifest),
      /cannot read weights shard/,
      path.join(folder, 'absent.bin'),
    );
    expect(error.kind).toBe('missing-file');
  });
});

describe('importing from a package whose manifest does not fit the network', () => {
  async function tamperedPackage(
    name: string,
    edit: (manifest: { weights: { name: string; shape: number[] }[] }[]) => void,
  ) {
    const source = faceApiPackageDir();
    const dir = path.join(folder, name);
    await mkdir(path.join(dir, 'model'), { recursive: true });
    await copyFile(path.join(source, 'package.json'), path.join(dir, 'package.json'));
    await copyFile(
      path.join(source, 'model', 'face_recognition_model.bin'),
      path.join(dir, 'model', 'face_recognition_model.bin'),
    );
    const manifest = JSON.parse(await readFile(path.join(source, FACE_API_MANIFEST), 'utf8'));
    edit(manifest);
    await writeFile(path.join(dir, FACE_API_MANIFEST), JSON.stringify(manifest, null, 2));
    return dir;
  }

  it('names the weight whose shape differs', async () => {
    // same element count, other layout: only the shape check can catch it
    const dir = await tamperedPackage('shape', (m) => {
      m[0]!.weights.find((w) => w.name === 'fc')!.shape = [128, 256];
    });
    await expectGabnError(
      importFaceApi(dir),
      /weight 'fc' has shape \[128, 256\] \(expected shape \[256, 128\]\)/,
      path.join(dir, FACE_API_MANIFEST),
    );
  });

  it('names a weight the network needs that the manifest lacks', async () => {
    const dir = await tamperedPackage('renamed', (m) => {
      m[0]!.weights.find((w) => w.name === 'conv64_2/conv1/scale/biases')!.name =
        'conv64_2/conv1/scale/offsets';
    });
    await expectGabnError(
      importFaceApi(dir),
      /weights the network does not use: conv64_2\/conv1\/scale\/offsets/,
      path.join(dir, FACE_API_MANIFEST),
    );
  });
});
