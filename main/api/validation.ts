/**
 * Every argument that crosses the API boundary is checked here, one small validator per method,
 * before the service sees it: a renderer (or anything that reaches the browser host with the token)
 * is not trusted to send well-formed values. Failures are GabnErrors of kind 'usage' naming the
 * method, the field and the expected form.
 */
import { GabnError } from '../errors.ts';
import type {
  ApiArgument,
  ApiMethod,
  AttributionMethod,
  GroupAveragesRequest,
  ImageQuery,
  MaskKind,
} from './contract.ts';
import { API_METHODS } from './contract.ts';

const METHODS: readonly AttributionMethod[] = ['gam', 'pair-gam', 'grad-cam'];
const MASK_KINDS: readonly MaskKind[] = ['sfre', 'random'];

/** Names of the fields and what each must be; keeps messages uniform. */
class Fields {
  constructor(
    readonly method: string,
    readonly value: Record<string, unknown>,
  ) {}

  fail(field: string, expected: string): never {
    const got = this.value[field];
    const shown =
      got === undefined ? 'missing' : typeof got === 'string' ? `'${got.slice(0, 60)}'` : JSON.stringify(got);
    throw new GabnError('usage', `${this.method}: ${field} is ${shown}`, { expected });
  }

  string(field: string, options: { optional?: false; maxLength?: number }): string;
  string(field: string, options: { optional: true; maxLength?: number }): string | undefined;
  string(field: string, options: { optional?: boolean; maxLength?: number } = {}): string | undefined {
    const v = this.value[field];
    if (v === undefined && options.optional) return undefined;
    const max = options.maxLength ?? 4096;
    if (typeof v !== 'string' || v.length === 0 || v.length > max || v.includes('\u0000')) {
      this.fail(field, `a non-empty string of at most ${max} characters`);
    }
    return v;
  }

  integer(field: string, min: number, max: number, fallback?: number): number {
    const v = this.value[field];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `an integer in [${min}, ${max}]`);
    }
    return v;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[], optional = false): T | undefined {
    const v = this.value[field];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(field, `one of ${allowed.join(', ')}`);
    }
    return v as T;
  }

  only(allowed: readonly string[]): void {
    const unknown = Object.keys(this.value).filter((k) => !allowed.includes(k));
    if (unknown.length > 0) {
      throw new GabnError(
        'usage',
        `${this.method}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`,
        {
          expected: allowed.length === 0 ? 'no fields' : `only ${allowed.join(', ')}`,
        },
      );
    }
  }
}

function object(method: string, value: unknown, allowed: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GabnError(
      'usage',
      `${method}: the argument is ${Array.isArray(value) ? 'an array' : String(value)}`,
      {
        expected: `an object with ${allowed.join(', ')}`,
      },
    );
  }
  const fields = new Fields(method, value as Record<string, unknown>);
  fields.only(allowed);
  return fields;
}

function text(method: string, value: unknown, what: string, maxLength = 4096): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > maxLength ||
    value.includes('\u0000')
  ) {
    throw new GabnError(
      'usage',
      `${method}: the ${what} is ${value === undefined ? 'missing' : JSON.stringify(value)}`,
      {
        expected: `a non-empty string of at most ${maxLength} characters`,
      },
    );
  }
  return value;
}

function none(method: string, value: unknown): undefined {
  if (value !== undefined && value !== null) {
    throw new GabnError('usage', `${method} takes no argument`, { expected: 'no argument' });
  }
  return undefined;
}

const ID_LENGTH = 64;
const MAX_IMAGE = 10_000_000;

type Validators = { [M in ApiMethod]: (value: unknown) => ApiArgument<M> };

const validators: Validators = {
  getStatus: (v) => none('getStatus', v),
  listCheckpoints: (v) => none('listCheckpoints', v),
  listDatasets: (v) => none('listDatasets', v),
  listJobs: (v) => none('listJobs', v),
  prepareDemoWorkspace: (v) => none('prepareDemoWorkspace', v),
  openCheckpoint: (v) => text('openCheckpoint', v, 'path'),
  describeCheckpoint: (v) => text('describeCheckpoint', v, 'checkpoint id', ID_LENGTH),
  openDataset: (v) => text('openDataset', v, 'path'),
  listGroups: (v) => text('listGroups', v, 'dataset id', ID_LENGTH),
  cancelJob: (v) => text('cancelJob', v, 'job id', ID_LENGTH),
  listImages(v) {
    const f = object('listImages', v, ['datasetId', 'group', 'identity', 'offset', 'limit']);
    const query: { datasetId: string } & ImageQuery = {
      datasetId: f.string('datasetId', { maxLength: ID_LENGTH }),
      offset: f.integer('offset', 0, MAX_IMAGE, 0),
      limit: f.integer('limit', 1, 100_000, 200),
    };
    const group = f.string('group', { optional: true, maxLength: 256 });
    const identity =
      f.value.identity === '' ? undefined : f.string('identity', { optional: true, maxLength: 256 });
    return { ...query, ...(group ? { group } : {}), ...(identity ? { identity } : {}) };
  },
  readImage(v) {
    const f = object('readImage', v, ['datasetId', 'imageId', 'aligned']);
    const aligned = f.value.aligned === undefined ? undefined : f.integer('aligned', 16, 512);
    return {
      datasetId: f.string('datasetId', { maxLength: ID_LENGTH }),
      imageId: f.integer('imageId', 0, MAX_IMAGE),
      ...(aligned === undefined ? {} : { aligned }),
    };
  },
  computeAttribution(v) {
    const f = object('computeAttribution', v, ['checkpointId', 'datasetId', 'imageId', 'method']);
    return {
      checkpointId: f.string('checkpointId', { maxLength: ID_LENGTH }),
      datasetId: f.string('datasetId', { maxLength: ID_LENGTH }),
      imageId: f.integer('imageId', 0, MAX_IMAGE),
      method: f.oneOf('method', METHODS)!,
    };
  },
  computeMasks(v) {
    const f = object('computeMasks', v, [
      'checkpointId',
      'datasetId',
      'imageId',
      'kind',
      'n',
      'h',
      'w',
      'seed',
      'method',
    ]);
    const method = f.oneOf('method', METHODS, true);
    return {
      checkpointId: f.string('checkpointId', { maxLength: ID_LENGTH }),
      datasetId: f.string('datasetId', { maxLength: ID_LENGTH }),
      imageId: f.integer('imageId', 0, MAX_IMAGE),
      kind: f.oneOf('kind', MASK_KINDS)!,
      n: f.integer('n', 0, 64),
      h: f.integer('h', 1, 512),
      w: f.integer('w', 1, 512),
      seed: f.integer('seed', 0, 2 ** 32 - 1),
      ...(method ? { method } : {}),
    };
  },
  listPairs(v) {
    const f = object('listPairs', v, ['datasetId', 'imageId', 'checkpointId']);
    const checkpointId = f.string('checkpointId', { optional: true, maxLength: ID_LENGTH });
    return {
      datasetId: f.string('datasetId', { maxLength: ID_LENGTH }),
      imageId: f.integer('imageId', 0, MAX_IMAGE),
      ...(checkpointId ? { checkpointId } : {}),
    };
  },
  groupAverages(v) {
    const f = object('groupAverages', v, ['datasetId', 'checkpointId', 'limit', 'method', 'seed']);
    const method = f.oneOf('method', METHODS, true);
    const request: GroupAveragesRequest = {
      datasetId: f.string('datasetId', { maxLength: ID_LENGTH }),
      checkpointId: f.string('checkpointId', { maxLength: ID_LENGTH }),
      limit: f.integer('limit', 1, 100_000, 32),
      seed: f.integer('seed', 0, 2 ** 32 - 1, 1),
      ...(method ? { method } : {}),
    };
    return request;
  },
  startJob(v) {
    const f = object('startJob', v, ['kind', 'params']);
    f.oneOf('kind', ['synth'] as const);
    const p = object('startJob params', f.value.params, ['out', 'seed', 'ids', 'images', 'trainIds', 'size']);
    const optional = (field: string, min: number, max: number) =>
      p.value[field] === undefined ? {} : { [field]: p.integer(field, min, max) };
    return {
      kind: 'synth',
      params: {
        out: p.string('out', {}),
        ...optional('seed', 0, 2 ** 31 - 1),
        ...optional('ids', 20, 10_000),
        ...optional('images', 2, 9999),
        ...optional('trainIds', 0, 100_000),
        ...optional('size', 32, 512),
      },
    };
  },
  readRunFile(v) {
    const f = object('readRunFile', v, ['jobId', 'file']);
    return {
      jobId: f.string('jobId', { maxLength: ID_LENGTH }),
      file: f.string('file', { maxLength: 1024 }),
    };
  },
};

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && (API_METHODS as readonly string[]).includes(name);
}

/** Checks `value` as the argument of `method`; throws a GabnError naming what is wrong. */
export function validateArgument<M extends ApiMethod>(method: M, value: unknown): ApiArgument<M> {
  if (!isApiMethod(method)) {
    throw new GabnError('usage', `unknown API method '${String(method).slice(0, 60)}'`, {
      expected: `one of ${API_METHODS.join(', ')}`,
    });
  }
  return (validators[method] as (value: unknown) => ApiArgument<M>)(value);
}
