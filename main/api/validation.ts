/**
 * Every argument that crosses the API boundary is checked here, one zod schema per method, before
 * the service sees it: a renderer (or anything that reaches the browser host with the token) is not
 * trusted to send well-formed values. Failures are GabnErrors of kind 'usage' naming the method, the
 * field and the expected form; every problem is listed.
 */
import { GabnError } from '../base/errors.ts';
import { valueNestingDepth } from '../base/json.ts';
import {
  allowedKeys,
  describeProblem,
  flag,
  integerIn,
  numberIn,
  oneOf,
  problemsOf,
  record,
  shownValue,
  text,
  z,
} from '../base/validation.ts';
import { ATTRIBUTION_METHODS } from '../gabn/attribution-methods.ts';
import { PRESETS, TABLE4_PRESETS } from '../gabn/presets.ts';
import { TRAINING_CONFIG } from '../gabn/training-config.ts';
import { API_METHODS, type ApiArgument, type ApiMethod } from './contract.ts';

const ID_LENGTH = 64;
const MAX_IMAGE = 10_000_000;
const id = () => text(ID_LENGTH);
const imageId = () => integerIn(0, MAX_IMAGE);
const seed = () => integerIn(0, 2 ** 32 - 1);
const method = () => oneOf(ATTRIBUTION_METHODS);

const PRESET_NAMES = Object.keys(PRESETS) as [string, ...string[]];

/**
 * A training run's parameters: the configuration is checked by the one schema the CLI's --set and
 * config files go through, so a wrong setting is named by its dotted path.
 */
const trainParams = () => ({
  preset: oneOf(PRESET_NAMES),
  config: TRAINING_CONFIG,
  data: text(),
  val: text().optional(),
  from: text().optional(),
});

/** A plain-string argument (a path or an id). */
interface TextArgument {
  readonly text: z.ZodType<string>;
  /** How the message names it: "the path", "the dataset id". */
  readonly what: string;
}

type Schema = z.ZodType | TextArgument | 'none';

/** An audit job's parameters: the limits of `gabn audit` (run-audit.ts checks the combinations). */
const auditParams = record({
  checkpoints: z.array(text(), { error: 'a list of checkpoint paths' }).min(1).max(8).optional(),
  data: text().optional(),
  scores: z.array(text(), { error: 'a list of scores CSV paths' }).min(1).max(8).optional(),
  scoreKind: oneOf(['similarity', 'distance']).optional(),
  flip: flag().optional(),
  bootstrap: integerIn(0, 1_000_000).optional(),
  seed: integerIn(0, 2 ** 31 - 1).optional(),
  targetFmrs: z
    .array(numberIn(0, 1, { minExclusive: true }), { error: 'a list of rates in (0, 1]' })
    .min(1)
    .max(6)
    .optional(),
  attentionImages: integerIn(0, 10_000).optional(),
  noFaces: flag().optional(),
  imagesPerShard: integerIn(1, 10_000_000).optional(),
  formats: z
    .array(oneOf(['csv', 'html', 'pdf']))
    .max(3)
    .optional(),
});

const SCHEMAS = {
  getStatus: 'none',
  listCheckpoints: 'none',
  listDatasets: 'none',
  listJobs: 'none',
  prepareDemoWorkspace: 'none',
  describeTraining: 'none',
  listRuns: 'none',
  openCheckpoint: { text: text(), what: 'path' },
  describeCheckpoint: { text: id(), what: 'checkpoint id' },
  openDataset: { text: text(), what: 'path' },
  listGroups: { text: id(), what: 'dataset id' },
  cancelJob: { text: id(), what: 'job id' },
  stopJob: { text: id(), what: 'job id' },
  resumeJob: { text: id(), what: 'job id' },
  deleteRun: { text: id(), what: 'job id' },
  readRunStrip: { text: id(), what: 'job id' },
  listImages: record({
    datasetId: id(),
    group: text(256).optional(),
    // An empty filter is no filter.
    identity: z.union([z.literal(''), text(256)]).optional(),
    offset: integerIn(0, MAX_IMAGE).default(0),
    limit: integerIn(1, 100_000).default(200),
  }),
  readImage: record({ datasetId: id(), imageId: imageId(), aligned: integerIn(16, 512).optional() }),
  computeAttribution: record({
    checkpointId: id(),
    datasetId: id(),
    imageId: imageId(),
    method: method(),
    partnerId: imageId().optional(),
  }),
  computeMasks: record({
    checkpointId: id(),
    datasetId: id(),
    imageId: imageId(),
    kind: oneOf(['sfre', 'random']),
    n: integerIn(0, 64),
    h: integerIn(1, 512),
    w: integerIn(1, 512),
    seed: seed(),
    centres: oneOf(['raw', 'smoothed']).optional(),
    method: method().optional(),
    partnerId: imageId().optional(),
  }),
  listPairs: record({ datasetId: id(), imageId: imageId(), checkpointId: id().optional() }),
  groupAverages: record({
    datasetId: id(),
    checkpointId: id(),
    limit: integerIn(1, 100_000).default(32),
    seed: seed().default(1),
    method: method().optional(),
  }),
  // One member per job kind a client may start, each with its own parameters.
  startJob: z.discriminatedUnion(
    'kind',
    [
      record({
        kind: z.literal('synth'),
        params: record({
          out: text(),
          seed: integerIn(0, 2 ** 31 - 1).optional(),
          ids: integerIn(20, 10_000).optional(),
          images: integerIn(2, 9999).optional(),
          trainIds: integerIn(0, 100_000).optional(),
          size: integerIn(32, 512).optional(),
        }),
      }),
      record({ kind: z.literal('audit'), params: auditParams }),
      record({ kind: z.literal('train'), params: record(trainParams()) }),
      record({
        kind: z.literal('train-estimate'),
        params: record({ ...trainParams(), probeSteps: integerIn(1, 50).optional() }),
      }),
    ],
    { error: 'one of synth, audit, train, train-estimate' },
  ),
  readRunFile: record({ jobId: id(), file: text(1024) }),
  importModel: record({
    path: text(),
    arch: oneOf(['r18', 'r34', 'r50', 'r100', 'r200']).optional(),
    force: z.boolean().optional(),
  }),
  listReports: 'none',
  openReport: { text: id(), what: 'report id' },
  exportReport: record({
    reportId: id(),
    format: oneOf(['html', 'pdf', 'json', 'csv']),
    noFaces: flag().optional(),
  }),
  // Its problems are the answer, not a refusal: only the form of the request is checked here.
  validateTraining: record({
    preset: text(64),
    config: z.record(z.string(), z.unknown(), { error: 'an object' }),
    data: text().optional(),
    val: text().optional(),
    from: text().optional(),
  }),
  readRunMetrics: record({ jobId: id(), from: integerIn(0, 1_000_000_000).optional() }),
  readRunLog: record({ jobId: id(), lines: integerIn(1, 10_000).optional() }),
  exportRunCheckpoint: record({ jobId: id(), checkpoint: text(1024).optional() }),
  startAblation: record({
    base: record(trainParams()),
    presets: z.array(oneOf(TABLE4_PRESETS), { error: `a list of ${TABLE4_PRESETS.join(', ')}` }).min(1, {
      error: 'at least one preset',
    }),
    seeds: integerIn(1, 100),
    bootstrap: integerIn(1, 1_000_000).optional(),
  }),
} satisfies Record<ApiMethod, Schema>;

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && (API_METHODS as readonly string[]).includes(name);
}

function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== ''));
}

function fail(method: string, problems: string[], expected?: string): never {
  throw new GabnError(
    'usage',
    `${method}: ${problems.join('; ')}`,
    expected === undefined ? {} : { expected },
  );
}

function validateObject(method: string, schema: z.ZodType, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(method, [`the argument is ${Array.isArray(value) ? 'an array' : String(value)}`], 'an object');
  }
  const problems = problemsOf(schema, value);
  const unknown = problems.filter((p) => p.unknownKey);
  if (unknown.length > 0) {
    // Unknown fields are named with the allowed ones, at the level where they appear.
    const where = unknown[0]!.path.split('.').slice(0, -1);
    const names = unknown.map((p) => p.path.split('.').pop()!);
    const allowed = allowedKeys(schema, value, where);
    fail(
      [method, ...where].join(' '),
      [`unknown field${names.length > 1 ? 's' : ''} ${names.join(', ')}`],
      `only ${allowed.join(', ')}`,
    );
  }
  if (problems.length > 0) {
    const first = problems[0]!;
    // One problem reads "method: field is value (expected …)", as every message of the project.
    if (problems.length === 1) {
      const [where, field] = splitPath(method, first.path);
      throw new GabnError('usage', `${where}: ${field} is ${shownValue(first.value)}`, {
        expected: first.expected,
      });
    }
    fail(method, problems.map(describeProblem));
  }
  return withoutUndefined(schema.parse(value) as Record<string, unknown>);
}

/** "startJob" + "params.ids" → ["startJob params", "ids"]: the message names the nested object. */
function splitPath(method: string, path: string): [string, string] {
  const parts = path.split('.');
  return [[method, ...parts.slice(0, -1)].join(' '), parts.at(-1)!];
}

/** No argument of the contract nests deeper; a deeper one would only exhaust the stack of its checks. */
export const MAX_ARGUMENT_NESTING = 64;

/** Checks `value` as the argument of `method`; throws a GabnError naming what is wrong. */
export function validateArgument<M extends ApiMethod>(method: M, value: unknown): ApiArgument<M> {
  if (!isApiMethod(method)) {
    throw new GabnError('usage', `unknown API method '${String(method).slice(0, 60)}'`, {
      expected: `one of ${API_METHODS.join(', ')}`,
    });
  }
  if (valueNestingDepth(value, MAX_ARGUMENT_NESTING) > MAX_ARGUMENT_NESTING) {
    throw new GabnError('usage', `${method}: the argument nests deeper than ${MAX_ARGUMENT_NESTING} levels`, {
      expected: `an argument nested at most ${MAX_ARGUMENT_NESTING} levels`,
    });
  }
  const schema: Schema = SCHEMAS[method];
  if (schema === 'none') {
    if (value !== undefined && value !== null) {
      throw new GabnError('usage', `${method} takes no argument`, { expected: 'no argument' });
    }
    return undefined as ApiArgument<M>;
  }
  if ('what' in schema) {
    const problems = problemsOf(schema.text, value);
    if (problems.length > 0) {
      // Strings as JSON writes them; Infinity (which JSON writes as null) as itself.
      const shown = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? 'missing');
      throw new GabnError('usage', `${method}: the ${schema.what} is ${shown}`, {
        expected: problems[0]!.expected,
      });
    }
    return value as ApiArgument<M>;
  }
  const valid = validateObject(method, schema, value) as Record<string, unknown>;
  if (method === 'startJob') valid.params = withoutUndefined(valid.params as Record<string, unknown>);
  return valid as ApiArgument<M>;
}
