/**
 * The on-disk description of a checkpoint, `checkpoint.json` (docs/checkpoints.md), and its
 * validation. Every problem names the file and the field, and what was expected.
 */
import { GabnError } from '../base/errors.ts';
import { type IResNetSpec, specName, specProblem } from './iresnet-spec.ts';
import type { MarginOptions } from './margin-head.ts';

/** The version this build writes and the newest it reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;
export const CHECKPOINT_FORMAT = 'gabn-checkpoint';
export const CHECKPOINT_JSON = 'checkpoint.json';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One tensor in tfjs's weights-manifest format. float16 storage is tfjs's float16 quantization. */
export interface WeightsManifestEntry {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: 'float32';
  readonly quantization?: { readonly dtype: 'float16' };
}

/** tfjs WeightsManifestGroupConfig: the tensors, in order, stored in the concatenation of `paths`. */
export interface WeightsManifestGroup {
  readonly paths: string[];
  readonly weights: WeightsManifestEntry[];
}

export interface ArchitectureJson extends IResNetSpec {
  /** Canonical name, e.g. `iresnet18-w0.25-56`; informative, the fields are authoritative. */
  readonly name: string;
}

/**
 * A network GABN Studio did not build but can describe and audit (e.g. `face-api-resnet` written by
 * `gabn import face-api`): read only when asked for (`anyArchitecture`), never trained.
 */
export interface ImportedArchitectureJson {
  readonly family: string;
  readonly name: string;
  readonly inputSize: number;
  readonly embeddingSize: number;
  readonly [key: string]: JsonValue;
}

export function isIResNetArchitecture(a: ArchitectureJson | ImportedArchitectureJson): a is ArchitectureJson {
  return a.family === 'iresnet';
}

export interface ValidateOptions {
  /** Accept architectures other than iResNet (their tensors are then checked against the manifest only). */
  readonly anyArchitecture?: boolean;
}

export interface ProvenanceJson {
  /** What the network was trained or fine-tuned on (dataset paths, hashes, group mix...). */
  readonly data: JsonObject;
  /** The training configuration (preset, optimiser, schedule...). */
  readonly config: JsonObject;
  /** package.json version of the GABN Studio that wrote the checkpoint. */
  readonly softwareVersion: string;
  /** ISO 8601 UTC time of writing. */
  readonly createdAt: string;
  /** Last validation figures (accuracy per group, STD, SER...). */
  readonly metrics: JsonObject;
}

export interface HeadJson {
  readonly classes: number;
  readonly margin: MarginOptions;
  readonly weights: WeightsManifestGroup[];
}

export interface DiscriminatorJson {
  readonly family: 'resnet18';
  readonly width: number;
  readonly groups: number;
  readonly weights: WeightsManifestGroup[];
}

export interface OptimizerJson {
  /** Everything that is not a tensor: kind, learning rate, step, epoch, RNG state... */
  readonly state: JsonValue;
  readonly weights: WeightsManifestGroup[];
}

export interface CheckpointJson {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly formatVersion: number;
  readonly architecture: ArchitectureJson | ImportedArchitectureJson;
  readonly inputSize: number;
  readonly embeddingSize: number;
  readonly parameterCount: number;
  readonly groups: string[];
  readonly classCount: number;
  readonly provenance: ProvenanceJson;
  readonly weights: WeightsManifestGroup[];
  readonly head?: HeadJson;
  readonly discriminator?: DiscriminatorJson;
  readonly optimizer?: OptimizerJson;
}

type Where = { file: string };

function fail(where: Where, field: string, message: string, expected?: string): never {
  throw new GabnError('checkpoint', `${field}: ${message}`, {
    file: where.file,
    ...(expected ? { expected } : {}),
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(where: Where, field: string, value: unknown): Record<string, unknown> {
  if (!isObject(value)) fail(where, field, `is ${describe(value)}`, 'an object');
  return value;
}

function integer(where: Where, field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(where, field, `is ${describe(value)}`, `an integer ≥ ${min}`);
  }
  return value;
}

function finiteNumber(where: Where, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(where, field, `is ${describe(value)}`, 'a number');
  return value;
}

function string(where: Where, field: string, value: unknown): string {
  if (typeof value !== 'string') fail(where, field, `is ${describe(value)}`, 'a string');
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Parses checkpoint.json's text; a syntax error names its line. */
export function parseCheckpointJson(
  text: string,
  file: string,
  options: ValidateOptions = {},
): CheckpointJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /position (\d+)/.exec(message);
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : undefined;
    throw new GabnError('malformed', `not valid JSON: ${message}`, {
      file,
      ...(line === undefined ? {} : { line }),
      expected: 'a checkpoint.json written by GABN Studio',
    });
  }
  return validateCheckpointJson(raw, file, options);
}

export function validateCheckpointJson(
  raw: unknown,
  file: string,
  options: ValidateOptions = {},
): CheckpointJson {
  const where = { file };
  const root = object(where, 'checkpoint', raw);
  if (root.format !== CHECKPOINT_FORMAT) {
    fail(
      where,
      'format',
      `is ${describe(root.format)}: this is not a GABN Studio checkpoint`,
      `'${CHECKPOINT_FORMAT}'`,
    );
  }
  const version = integer(where, 'formatVersion', root.formatVersion, 1);
  if (version > CHECKPOINT_FORMAT_VERSION) {
    throw new GabnError(
      'checkpoint',
      `written by a newer GABN Studio: format ${version}, this version reads ${CHECKPOINT_FORMAT_VERSION}`,
      { file, expected: `formatVersion ≤ ${CHECKPOINT_FORMAT_VERSION}; update GABN Studio to open it` },
    );
  }
  const architecture = validateArchitecture(where, root.architecture, options);
  const inputSize = integer(where, 'inputSize', root.inputSize, 1);
  if (inputSize !== architecture.inputSize) {
    fail(where, 'inputSize', `is ${inputSize} but the architecture says ${architecture.inputSize}`);
  }
  const embeddingSize = integer(where, 'embeddingSize', root.embeddingSize, 1);
  if (embeddingSize !== architecture.embeddingSize) {
    fail(
      where,
      'embeddingSize',
      `is ${embeddingSize} but the architecture says ${architecture.embeddingSize}`,
    );
  }
  const parameterCount = integer(where, 'parameterCount', root.parameterCount, 0);
  if (!Array.isArray(root.groups))
    fail(where, 'groups', `is ${describe(root.groups)}`, 'an array of group names');
  const groups = root.groups.map((g, i) => {
    const name = string(where, `groups[${i}]`, g);
    if (name.trim() === '') fail(where, `groups[${i}]`, 'is empty', 'a group name');
    return name;
  });
  const duplicate = groups.find((g, i) => groups.indexOf(g) !== i);
  if (duplicate !== undefined) fail(where, 'groups', `names '${duplicate}' twice`, 'distinct group names');
  const classCount = integer(where, 'classCount', root.classCount, 0);
  const provenance = validateProvenance(where, root.provenance);
  const weights = validateManifest(where, 'weights', root.weights);
  const out: {
    -readonly [K in keyof CheckpointJson]: CheckpointJson[K];
  } = {
    format: CHECKPOINT_FORMAT,
    formatVersion: version,
    architecture,
    inputSize,
    embeddingSize,
    parameterCount,
    groups,
    classCount,
    provenance,
    weights,
  };
  if (root.head !== undefined) {
    const head = object(where, 'head', root.head);
    const classes = integer(where, 'head.classes', head.classes, 1);
    if (classes !== classCount) {
      fail(
        where,
        'head.classes',
        `is ${classes} but classCount is ${classCount}`,
        'the same number of classes',
      );
    }
    const margin = object(where, 'head.margin', head.margin);
    if (margin.kind !== 'arcface' && margin.kind !== 'cosface') {
      fail(where, 'head.margin.kind', `is ${describe(margin.kind)}`, "'arcface' or 'cosface'");
    }
    out.head = {
      classes,
      margin: {
        kind: margin.kind,
        s: finiteNumber(where, 'head.margin.s', margin.s),
        m: finiteNumber(where, 'head.margin.m', margin.m),
      },
      weights: validateManifest(where, 'head.weights', head.weights),
    };
  }
  if (root.discriminator !== undefined) {
    const d = object(where, 'discriminator', root.discriminator);
    if (d.family !== 'resnet18') {
      fail(where, 'discriminator.family', `unknown architecture ${describe(d.family)}`, "'resnet18'");
    }
    const width = finiteNumber(where, 'discriminator.width', d.width);
    if (!(width > 0 && width <= 16)) fail(where, 'discriminator.width', `is ${width}`, 'a number in (0, 16]');
    const dGroups = integer(where, 'discriminator.groups', d.groups, 2);
    if (dGroups !== groups.length) {
      fail(
        where,
        'discriminator.groups',
        `is ${dGroups} but ${groups.length} groups are named`,
        'one output per group',
      );
    }
    out.discriminator = {
      family: 'resnet18',
      width,
      groups: dGroups,
      weights: validateManifest(where, 'discriminator.weights', d.weights),
    };
  }
  if (root.optimizer !== undefined) {
    const o = object(where, 'optimizer', root.optimizer);
    out.optimizer = {
      state: (o.state ?? null) as JsonValue,
      weights: validateManifest(where, 'optimizer.weights', o.weights),
    };
  }
  return out;
}

function validateArchitecture(
  where: Where,
  value: unknown,
  options: ValidateOptions,
): ArchitectureJson | ImportedArchitectureJson {
  const a = object(where, 'architecture', value);
  if (
    a.family !== 'iresnet' &&
    options.anyArchitecture === true &&
    typeof a.family === 'string' &&
    a.family !== ''
  ) {
    return {
      ...(a as JsonObject),
      family: a.family,
      name: typeof a.name === 'string' ? a.name : a.family,
      inputSize: integer(where, 'architecture.inputSize', a.inputSize, 1),
      embeddingSize: integer(where, 'architecture.embeddingSize', a.embeddingSize, 1),
    };
  }
  if (a.family !== 'iresnet') {
    // An imported embedder (a TensorFlow.js graph) says it is not trainable: say so, not "unknown".
    const imported = a.trainable === false;
    fail(
      where,
      'architecture.family',
      imported
        ? `${describe(a.family)} is an imported network that GABN Studio audits but cannot train (no identity head, not trainable)`
        : `unknown architecture ${describe(a.family)}`,
      imported ? 'an iResNet checkpoint to fine-tune' : "'iresnet' (iresnet18, 34, 50, 100, 200)",
    );
  }
  // Each field present and a number first, so that the message names a missing one as missing.
  const spec: IResNetSpec = {
    family: 'iresnet',
    depth: finiteNumber(where, 'architecture.depth', a.depth) as IResNetSpec['depth'],
    width: finiteNumber(where, 'architecture.width', a.width),
    inputSize: finiteNumber(where, 'architecture.inputSize', a.inputSize),
    embeddingSize: finiteNumber(where, 'architecture.embeddingSize', a.embeddingSize),
  };
  const problem = specProblem(spec);
  if (problem !== undefined) fail(where, 'architecture', `unknown architecture: ${problem}`);
  return { ...spec, name: typeof a.name === 'string' ? a.name : specName(spec) };
}

function validateProvenance(where: Where, value: unknown): ProvenanceJson {
  const p = object(where, 'provenance', value);
  const createdAt = string(where, 'provenance.createdAt', p.createdAt);
  if (Number.isNaN(Date.parse(createdAt)))
    fail(where, 'provenance.createdAt', `is '${createdAt}'`, 'an ISO 8601 date');
  return {
    data: object(where, 'provenance.data', p.data) as JsonObject,
    config: object(where, 'provenance.config', p.config) as JsonObject,
    softwareVersion: string(where, 'provenance.softwareVersion', p.softwareVersion),
    createdAt,
    metrics: object(where, 'provenance.metrics', p.metrics) as JsonObject,
  };
}

/** A plain file name inside the checkpoint directory: no separators, no parent references. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function validateManifest(where: Where, field: string, value: unknown): WeightsManifestGroup[] {
  if (!Array.isArray(value))
    fail(where, field, `is ${describe(value)}`, 'a tfjs weights manifest (an array of groups)');
  const names = new Set<string>();
  return value.map((g, gi) => {
    const group = object(where, `${field}[${gi}]`, g);
    if (!Array.isArray(group.paths) || group.paths.length === 0) {
      fail(where, `${field}[${gi}].paths`, `is ${describe(group.paths)}`, 'a non-empty array of file names');
    }
    const paths = group.paths.map((p, pi) => {
      const path = string(where, `${field}[${gi}].paths[${pi}]`, p);
      if (!FILE_NAME.test(path) || path === '..') {
        fail(where, `${field}[${gi}].paths[${pi}]`, `'${path}' is not a file name inside the checkpoint`);
      }
      return path;
    });
    if (!Array.isArray(group.weights))
      fail(where, `${field}[${gi}].weights`, `is ${describe(group.weights)}`, 'an array');
    const weights = group.weights.map((w, wi) => {
      const at = `${field}[${gi}].weights[${wi}]`;
      const entry = object(where, at, w);
      const name = string(where, `${at}.name`, entry.name);
      if (names.has(name)) fail(where, `${at}.name`, `tensor '${name}' is listed twice`);
      names.add(name);
      if (!Array.isArray(entry.shape))
        fail(where, `${at}.shape`, `is ${describe(entry.shape)}`, 'an array of sizes');
      const shape = entry.shape.map((d, di) => integer(where, `${at}.shape[${di}]`, d, 0));
      if (entry.dtype !== 'float32')
        fail(where, `${at}.dtype`, `is ${describe(entry.dtype)} (tensor '${name}')`, "'float32'");
      if (entry.quantization === undefined) return { name, shape, dtype: 'float32' as const };
      const q = object(where, `${at}.quantization`, entry.quantization);
      if (q.dtype !== 'float16') {
        fail(
          where,
          `${at}.quantization.dtype`,
          `is ${describe(q.dtype)} (tensor '${name}')`,
          "'float16' or no quantization",
        );
      }
      return { name, shape, dtype: 'float32' as const, quantization: { dtype: 'float16' as const } };
    });
    return { paths, weights };
  });
}
