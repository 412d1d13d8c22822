import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { pairGradientAttentionMap } from '../../../main/gabn/pair-gam.ts';
import {
  FACE_API_MANIFEST,
  FACE_API_VERIFIED_VERSION,
  type FaceApiImport,
  faceApiPackageDir,
  faceApiParams,
  importFaceApi,
} from '../../../main/models/importers/face-api.ts';
import {
  type FaceApiParams,
  faceApiDescriptor,
  faceApiEmbedding,
  faceApiNormalize,
  faceApiParamSpecs,
} from '../../../main/models/importers/face-api-net.ts';
import { readWeightsManifest } from '../../../main/models/importers/tfjs-weights.ts';

const require = createRequire(import.meta.url);
const SIZE = 150;

/**
 * Both networks run float32 tfjs kernels on the same backend with the same ops in the same order, so
 * they agree to the last bit in practice; the tolerance allows for a backend that reorders a sum.
 * Descriptor entries are of order 0.1.
 */
const TOLERANCE = 1e-5;

/** Deterministic synthetic RGB images, 0..255 integers. */
function syntheticImages(): { name: string; pixels: Float32Array }[] {
  const make = (name: string, rgb: (x: number, y: number) => [number, number, number]) => {
    const pixels = new Float32Array(SIZE * SIZE * 3);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const [r, g, b] = rgb(x, y);
        const i = (y * SIZE + x) * 3;
        pixels[i] = Math.round(r);
        pixels[i + 1] = Math.round(g);
        pixels[i + 2] = Math.round(b);
      }
    }
    return { name, pixels };
  };
  const c = (SIZE - 1) / 2;
  return [
    make('colour gradients', (x, y) => [
      (255 * x) / (SIZE - 1),
      (255 * y) / (SIZE - 1),
      255 - (255 * x) / (SIZE - 1),
    ]),
    make('grey disc on black', (x, y) => {
      const v = Math.hypot(x - c, y - c) < 50 ? 200 : 10;
      return [v, v, v];
    }),
    make('face-like shapes', (x, y) => {
      // a skin-toned oval with two dark eyes and a mouth: enough structure to excite the filters
      const inFace = ((x - c) / 55) ** 2 + ((y - c) / 70) ** 2 < 1;
      const eye = Math.hypot(x - 52, y - 60) < 8 || Math.hypot(x - 97, y - 60) < 8;
      const mouth = Math.abs(y - 112) < 4 && Math.abs(x - c) < 22;
      if (eye || mouth) return [40, 25, 20];
      return inFace ? [205, 160, 130] : [60, 90, 140];
    }),
    make('stripes', (x, y) => [128 + 127 * Math.sin(x / 4), 128 + 127 * Math.cos(y / 6), (x * y) % 256]),
  ];
}

/**
 * Two faces from the photograph face-api ships as demo/sample6.jpg, cropped to squares around the
 * boxes face-api's own SSD detector finds there (x, y, side in the 1920x1537 image).
 */
const SAMPLE_FACES = [
  { left: 607, top: 320, side: 306 },
  { left: 1135, top: 304, side: 279 },
];

async function sampleFaces(): Promise<{ name: string; pixels: Float32Array }[]> {
  const file = path.join(faceApiPackageDir(), 'demo', 'sample6.jpg');
  return Promise.all(
    SAMPLE_FACES.map(async ({ left, top, side }, i) => {
      const raw = await sharp(file)
        .extract({ left, top, width: side, height: side })
        .resize(SIZE, SIZE)
        .removeAlpha()
        .raw()
        .toBuffer();
      return { name: `sample6.jpg face ${i + 1}`, pixels: Float32Array.from(raw) };
    }),
  );
}

interface FaceApiModule {
  tf: { tensor3d(values: Float32Array, shape: number[], dtype: string): unknown; getBackend(): string };
  nets: {
    faceRecognitionNet: {
      loadFromDisk(folder: string): Promise<void>;
      computeFaceDescriptor(input: unknown[]): Promise<Float32Array[]>;
    };
  };
}

let imported: FaceApiImport;
let params: FaceApiParams;

beforeAll(async () => {
  await loadEngine();
  imported = await importFaceApi();
  params = faceApiParams(imported.weights);
});

describe('importing the face-api face recognition network', () => {
  it('reads every weight of the installed package, renamed and in the network shapes', () => {
    const specs = faceApiParamSpecs();
    expect(imported.weights.map((w) => w.name)).toEqual(specs.map((s) => s.name));
    expect(imported.weights.map((w) => w.shape)).toEqual(specs.map((s) => s.shape));
    expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
    // 29 conv layers x (filters, bias, scale, shift) + fc = 117 tensors
    expect(specs).toHaveLength(117);
    const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
    expect(imported.parameterCount).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(imported.architecture).toEqual({ family: 'face-api-resnet', inputSize: 150, embeddingSize: 128 });
  });

  it('dequantizes exactly as TensorFlow.js does (q * scale + min, float32)', async () => {
    const manifestFile = path.join(faceApiPackageDir(), FACE_API_MANIFEST);
    const { manifestBytes, shards } = await readWeightsManifest(manifestFile);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
      weights: tf.io.WeightsManifestEntry[];
    }[];
    const bytes = Buffer.concat(shards.map((s) => s.bytes));
    const reference = tf.io.decodeWeights(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      manifest.flatMap((g) => g.weights),
    );
    const specs = faceApiParamSpecs();
    for (const [i, weight] of imported.weights.entries()) {
      const expected = reference[specs[i]!.source]!.dataSync();
      expect(weight.values.length, specs[i]!.source).toBe(expected.length);
      // bit equality; a loop, because a matcher diffing 5.6 M numbers is slow
      const first = weight.values.findIndex((v, k) => !Object.is(v, expected[k]));
      expect(first, `${specs[i]!.source}: first differing index`).toBe(-1);
    }
    tf.dispose(Object.values(reference));
    expect(imported.provenance.storage).toEqual({ uint8: 109, uint16: 0, float32: 8 });
  });

  it('records where the weights came from', () => {
    const { source, license, preprocessing } = imported.provenance;
    expect(source.package).toBe('@vladmandic/face-api');
    expect(source.version).toBe(require('@vladmandic/face-api/package.json').version);
    expect(source.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(source.shards).toEqual([
      {
        file: 'model/face_recognition_model.bin',
        bytes: 6444032,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
    expect(license.package).toMatch(/^MIT/);
    expect(license.weightsNote).toMatch(/trained by davisking/);
    expect(preprocessing.meanRgb).toEqual([122.782, 117.001, 104.298]);
    expect(preprocessing.divisor).toBe(255);
  });
});

describe('the re-expressed network computes face-api’s own descriptors', () => {
  it(`matches FaceRecognitionNet.computeFaceDescriptor of face-api ${FACE_API_VERIFIED_VERSION} within ${TOLERANCE}`, async () => {
    // face-api's Node build for machines without tfjs-node: it runs on the tfjs instance the project
    // loaded (@tensorflow/tfjs 4.22.0, the same backend), with its own weight loader and layer code.
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule;
    expect(faceapi.tf.getBackend()).toBe(tf.getBackend());
    await faceapi.nets.faceRecognitionNet.loadFromDisk(path.join(faceApiPackageDir(), 'model'));

    const images = [...syntheticImages(), ...(await sampleFaces())];
    const theirs = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(
      images.map((im) => faceapi.tf.tensor3d(im.pixels, [SIZE, SIZE, 3], 'float32')),
    );
    const batch = tf.tensor4d(Float32Array.from(images.flatMap((im) => Array.from(im.pixels))), [
      images.length,
      SIZE,
      SIZE,
      3,
    ]);
    const ours = faceApiDescriptor(params, batch);
    const rows = ours.arraySync();
    tf.dispose([batch, ours]);

    expect(theirs).toHaveLength(images.length);
    for (const [i, image] of images.entries()) {
      const reference = theirs[i]!;
      expect(reference).toHaveLength(128);
      const diff = Math.max(...rows[i]!.map((v, k) => Math.abs(v - reference[k]!)));
      expect(diff, `${image.name}: max abs difference`).toBeLessThanOrEqual(TOLERANCE);
      // a descriptor of real magnitude, so agreement is not agreement on zeros
      expect(Math.hypot(...reference), image.name).toBeGreaterThan(0.1);
    }
    // different images give different descriptors (dlib's same-person threshold is 0.6)
    const distance = (a: number, b: number) => Math.hypot(...rows[a]!.map((v, k) => v - rows[b]![k]!));
    expect(distance(0, 1)).toBeGreaterThan(0.05);
  });

  it('refuses an input of the wrong size', () => {
    const x = tf.zeros([1, 112, 112, 3]) as tf.Tensor4D;
    expect(() => faceApiEmbedding(params, x)).toThrow(/expected \[batch, 150, 150, 3\]/);
    x.dispose();
  });
});

describe('gradients flow through the re-expressed network (pair GAM)', () => {
  it('d cos(e(x), e(partner)) / dx is finite, non-zero, and agrees with a finite difference', async () => {
    const [a, b] = await sampleFaces();
    const x = faceApiNormalize(tf.tensor4d(a!.pixels, [1, SIZE, SIZE, 3]));
    const partner = tf.tidy(() =>
      faceApiEmbedding(params, faceApiNormalize(tf.tensor4d(b!.pixels, [1, SIZE, SIZE, 3]))),
    );
    const cosine = (input: tf.Tensor4D) =>
      tf.tidy(() => {
        const e = faceApiEmbedding(params, input);
        return tf.sum(tf.mul(e, partner)).div(tf.norm(e).mul(tf.norm(partner))) as tf.Scalar;
      });
    const gradient = tf.grad((input: tf.Tensor) => cosine(input as tf.Tensor4D))(x);
    const g = gradient.dataSync();
    expect(g.every(Number.isFinite)).toBe(true);
    const nonZero = g.filter((v) => v !== 0).length;
    expect(nonZero / g.length).toBeGreaterThan(0.5);

    // directional derivative along the gradient itself vs a central difference (the net is
    // piecewise linear, so a small step stays on one linear piece almost everywhere)
    const norm = Math.hypot(...g);
    const direction = tf.div(gradient, norm);
    const h = 1e-2;
    const plus = cosine(tf.add(x, tf.mul(direction, h)) as tf.Tensor4D).dataSync()[0]!;
    const minus = cosine(tf.sub(x, tf.mul(direction, h)) as tf.Tensor4D).dataSync()[0]!;
    const numeric = (plus - minus) / (2 * h);
    expect(Math.abs(numeric - norm) / norm).toBeLessThan(0.05);

    // the project's pair GAM runs on it: one finite, non-zero 150 x 150 map per image
    const gam = pairGradientAttentionMap((images) => faceApiEmbedding(params, images), x, partner);
    expect(gam.shape).toEqual([1, SIZE, SIZE]);
    const map = gam.dataSync();
    expect(map.every(Number.isFinite)).toBe(true);
    expect(Math.max(...map)).toBeGreaterThan(0);
    tf.dispose([x, partner, gradient, direction, gam]);
  });
});
