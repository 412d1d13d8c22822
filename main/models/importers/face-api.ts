/**
 * Imports the pretrained face recognition network that the npm package @vladmandic/face-api ships
 * (model/face_recognition_model-weights_manifest.json + .bin: dlib's ResNet, 128-D descriptor). The
 * weights are read from the installed package, dequantized to float32, checked name by name and shape
 * by shape against the re-expressed network (face-api-net.ts) and renamed to the project's names.
 * Provenance records the package, its version, the files' sha256 and what the package says of licences.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { tf } from '../../engine/tf.ts';
import {
  FACE_API_EMBEDDING_SIZE,
  FACE_API_INPUT_SIZE,
  FACE_API_MEAN_RGB,
  FACE_API_PIXEL_DIVISOR,
  type FaceApiParams,
  faceApiParamSpecs,
} from './face-api-net.ts';
import { readWeightsManifest } from './tfjs-weights.ts';

export const FACE_API_PACKAGE = '@vladmandic/face-api';
/** The version whose FaceRecognitionNet source face-api-net.ts mirrors and the tests compare against. */
export const FACE_API_VERIFIED_VERSION = '1.7.15';
export const FACE_API_MANIFEST = 'model/face_recognition_model-weights_manifest.json';

export interface FaceApiArchitecture {
  readonly family: 'face-api-resnet';
  readonly inputSize: typeof FACE_API_INPUT_SIZE;
  readonly embeddingSize: typeof FACE_API_EMBEDDING_SIZE;
}

export const FACE_API_ARCHITECTURE: FaceApiArchitecture = {
  family: 'face-api-resnet',
  inputSize: FACE_API_INPUT_SIZE,
  embeddingSize: FACE_API_EMBEDDING_SIZE,
};

export interface ImportedWeight {
  /** Project name, e.g. 'conv32_1.conv1.conv.weight'. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

export interface FaceApiProvenance {
  readonly kind: 'import';
  readonly source: {
    readonly package: string;
    readonly version: string;
    readonly manifest: string;
    readonly manifestSha256: string;
    readonly shards: readonly { readonly file: string; readonly bytes: number; readonly sha256: string }[];
  };
  /** How the source stored the weights: most are uint8-quantized (q * scale + min), a few float32. */
  readonly storage: { readonly uint8: number; readonly uint16: number; readonly float32: number };
  readonly preprocessing: {
    readonly colour: 'RGB';
    readonly pixelRange: '0..255';
    readonly meanRgb: readonly number[];
    readonly divisor: number;
    readonly resize: string;
  };
  readonly license: {
    /** The package's own licence (its package.json "license" and the first line of its LICENSE file). */
    readonly package: string;
    /** What the package says about where the weights come from (its TUTORIAL.md), quoted. */
    readonly weightsNote: string;
  };
}

export interface FaceApiImport {
  readonly architecture: FaceApiArchitecture;
  readonly weights: readonly ImportedWeight[];
  readonly parameterCount: number;
  readonly provenance: FaceApiProvenance;
}

/** The installed package's folder (resolved from this file, as Node resolves the dependency). */
export function faceApiPackageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return path.dirname(require.resolve(`${FACE_API_PACKAGE}/package.json`));
  } catch (error) {
    throw new GabnError('missing-file', `the npm package ${FACE_API_PACKAGE} is not installed`, {
      expected: `${FACE_API_PACKAGE}@${FACE_API_VERIFIED_VERSION} in node_modules (run npm install)`,
      cause: error,
    });
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readPackageJson(
  packageDir: string,
): Promise<{ name: string; version: string; license: string }> {
  const file = path.join(packageDir, 'package.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new GabnError('missing-file', `cannot read the package description: ${(error as Error).message}`, {
      file,
      expected: 'the package.json of @vladmandic/face-api',
      cause: error,
    });
  }
  const { name, version, license } = (json ?? {}) as Record<string, unknown>;
  if (name !== FACE_API_PACKAGE || typeof version !== 'string') {
    throw new GabnError('malformed', `package.json names ${String(name)}@${String(version)}`, {
      file,
      expected: `${FACE_API_PACKAGE} with a version`,
    });
  }
  return { name, version, license: typeof license === 'string' ? license : 'unstated' };
}

async function firstLineOf(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

/** The paragraph of TUTORIAL.md that says who trained the face recognition weights. */
async function weightsNote(packageDir: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path.join(packageDir, 'TUTORIAL.md'), 'utf8');
  } catch {
    return 'the package ships no TUTORIAL.md: no statement about the weights';
  }
  const paragraph = text.split(/\n\s*\n/).find((p) => /weights have been trained by/i.test(p));
  if (paragraph === undefined) return 'the package states no origin or licence for these weights';
  // Markdown links read better as "text (url)" in a report.
  return paragraph
    .replace(/\[([^\]]+)\]\(([^)]+)\)/g, '$1 ($2)')
    .replace(/\*\*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Reads, dequantizes, validates and renames the package's face recognition weights. */
export async function importFaceApi(packageDir: string = faceApiPackageDir()): Promise<FaceApiImport> {
  const pkg = await readPackageJson(packageDir);
  const manifestFile = path.join(packageDir, FACE_API_MANIFEST);
  const { weights, manifestBytes, shards } = await readWeightsManifest(manifestFile);

  const specs = faceApiParamSpecs();
  const bySource = new Map(weights.map((w) => [w.name, w]));
  const known = new Set(specs.map((s) => s.source));
  const extra = weights.filter((w) => !known.has(w.name)).map((w) => w.name);
  if (extra.length > 0) {
    throw new GabnError(
      'malformed',
      `the manifest lists weights the network does not use: ${extra.join(', ')}`,
      {
        file: manifestFile,
        expected: `the ${specs.length} weights of face-api ${FACE_API_VERIFIED_VERSION}'s FaceRecognitionNet`,
      },
    );
  }
  const imported: ImportedWeight[] = specs.map((spec) => {
    const weight = bySource.get(spec.source);
    if (weight === undefined) {
      throw new GabnError('malformed', `the manifest lacks weight '${spec.source}'`, {
        file: manifestFile,
        expected: `a weight '${spec.source}' of shape [${spec.shape.join(', ')}]`,
      });
    }
    if (weight.shape.join(',') !== spec.shape.join(',')) {
      throw new GabnError('malformed', `weight '${spec.source}' has shape [${weight.shape.join(', ')}]`, {
        file: manifestFile,
        expected: `shape [${spec.shape.join(', ')}]`,
      });
    }
    const bad = weight.values.findIndex((v) => !Number.isFinite(v));
    if (bad !== -1) {
      throw new GabnError('malformed', `weight '${spec.source}' holds a non-finite value at index ${bad}`, {
        file: manifestFile,
        expected: 'finite numbers',
      });
    }
    return { name: spec.name, shape: spec.shape, values: weight.values };
  });

  const storage = { uint8: 0, uint16: 0, float32: 0 };
  for (const w of weights) storage[w.storedAs]++;
  const licenseLine = await firstLineOf(path.join(packageDir, 'LICENSE'));
  return {
    architecture: FACE_API_ARCHITECTURE,
    weights: imported,
    parameterCount: imported.reduce((n, w) => n + w.values.length, 0),
    provenance: {
      kind: 'import',
      source: {
        package: pkg.name,
        version: pkg.version,
        manifest: FACE_API_MANIFEST,
        manifestSha256: sha256(manifestBytes),
        shards: shards.map((s) => ({
          file: path.relative(packageDir, s.path).split(path.sep).join('/'),
          bytes: s.bytes.length,
          sha256: sha256(s.bytes),
        })),
      },
      storage,
      preprocessing: {
        colour: 'RGB',
        pixelRange: '0..255',
        meanRgb: [...FACE_API_MEAN_RGB],
        divisor: FACE_API_PIXEL_DIVISOR,
        resize: `zero-pad to a centred square, then bilinear resize to ${FACE_API_INPUT_SIZE}x${FACE_API_INPUT_SIZE}`,
      },
      license: {
        package: `${pkg.license}${licenseLine === undefined ? '' : ` (LICENSE: "${licenseLine}")`}`,
        weightsNote: await weightsNote(packageDir),
      },
    },
  };
}

/** The imported weights as tensors keyed by project name, ready for faceApiEmbedding. */
export function faceApiParams(weights: readonly ImportedWeight[]): FaceApiParams {
  const params: Record<string, tf.Tensor> = {};
  for (const w of weights) params[w.name] = tf.tensor(w.values, [...w.shape], 'float32');
  return params;
}
