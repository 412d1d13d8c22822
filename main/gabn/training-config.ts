/**
 * Every hyper-parameter of a GABN run, as plain data (like insightface's config files). One zod
 * declaration gives the type and the checks: unknown keys and out-of-range values are refused, every
 * problem at once, each naming the key, the value and what is allowed. A run's config.json holds
 * exactly this object.
 */
import { GabnError } from '../base/errors.ts';
import {
  describeProblem,
  flag,
  increasingIntegers,
  integerIn,
  numberIn,
  oneOf,
  oneOfNumbers,
  problemsOf,
  record,
  type z,
} from '../base/validation.ts';

/**
 * Probe images per group for the mechanism figures a run measures after every epoch: enough for an
 * interval, a second or so beside an epoch.
 */
export const DEFAULT_MECHANISM_PROBES = 16;
export const MAX_MECHANISM_PROBES = 1000;

const MODULES = record({
  /** GAM consistency training (Eq. 3-4): the discriminator and L_adv. */
  gamCt: flag(),
  /** GAM-guided sensitive facial region erasure. */
  sfre: flag(),
  /** Random erase with the same sizes (the ablation). */
  randomErase: flag(),
  /** Confidence balance (Eq. 5). */
  confidenceBalance: flag(),
});

export const TRAINING_CONFIG = record({
  seed: integerIn(0, 2 ** 32 - 1),
  model: record({
    depth: oneOfNumbers([18, 34, 50, 100, 200]),
    width: numberIn(0, 16, { minExclusive: true }),
    inputSize: integerIn(16, 1024),
    embeddingSize: integerIn(1, 65536),
  }),
  /** The margin softmax of Eq. 6: s and m as the paper writes them (checkpoints record the same). */
  margin: record({
    kind: oneOf(['arcface', 'cosface']),
    s: numberIn(0, 1024, { minExclusive: true }),
    m: numberIn(0, 1.5),
  }),
  epochs: integerIn(1, 10000),
  /** The logical batch (the paper: 200). */
  batchSize: integerIn(2, 100000),
  /** Images per forward/backward pass; gradients are accumulated up to batchSize. 0 = one pass. */
  microBatchSize: integerIn(0, 100000),
  sampling: oneOf(['natural', 'group-balanced']),
  optimizer: record({
    learningRate: numberIn(0, 10, { minExclusive: true }),
    momentum: numberIn(0, 0.999),
    weightDecay: numberIn(0, 1),
    /** Epochs after which the learning rate is multiplied by `decay` (the paper: 9, 15, 20). */
    milestones: increasingIntegers(1, 10000),
    decay: numberIn(0, 1, { minExclusive: true }),
  }),
  modules: MODULES,
  /** How Eq. 7-8 are combined (docs/objectives.md). */
  objective: oneOf(['paper', 'decoupled']),
  /** s of P = softmax(s·cos θ) in the GAM (Eq. 1). */
  gamScale: numberIn(0, 1024, { minExclusive: true }),
  /**
   * Probe images per group for the mechanism figures after every epoch (docs/training.md): more
   * narrows their intervals and costs a GAM pass per image; 0 measures none.
   */
  mechanismProbes: integerIn(0, MAX_MECHANISM_PROBES).default(DEFAULT_MECHANISM_PROBES),
  erase: record({
    count: integerIn(0, 10000),
    maxHeight: integerIn(1, 1024),
    maxWidth: integerIn(1, 1024),
    /** GAM-SFRE's mask centres: 'raw' (the paper) or 'smoothed' (beyond the paper, masks.ts). */
    centres: oneOf(['raw', 'smoothed']).default('raw'),
  }),
  confidence: record({ threshold: numberIn(0, 1), lambda: numberIn(0, 100) }),
  adversarial: record({ lambda: numberIn(0, 100) }),
  discriminator: record({
    width: numberIn(0, 16, { minExclusive: true }),
    learningRate: numberIn(0, 10, { minExclusive: true }),
    momentum: numberIn(0, 0.999),
    weightDecay: numberIn(0, 1),
  }),
});

export type TrainingConfig = z.infer<typeof TRAINING_CONFIG>;

/** The keys `--set` accepts: the dotted path of every setting. */
export const CONFIG_KEYS: readonly string[] = leafPaths(TRAINING_CONFIG);

/** How a form edits one setting: its kind, what it expects in words, and its choices where it has some. */
export interface SettingField {
  readonly key: string;
  readonly kind: 'boolean' | 'choice' | 'number' | 'list';
  /** As messages say it: "an integer in [1, 10000]". */
  readonly expected: string;
  readonly choices?: readonly (string | number)[];
}

function leafAt(key: string): z.ZodType {
  let node: z.ZodType = TRAINING_CONFIG;
  for (const part of key.split('.'))
    node = (node as unknown as { shape: Record<string, z.ZodType> }).shape[part]!;
  // A setting with a default (one older run folders lack) is described by the check it wraps.
  const def = (node as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
  return def.type === 'default' && def.innerType ? def.innerType : node;
}

/** Every setting of the configuration as a form shows it, read from the one declaration above. */
export function configFields(): SettingField[] {
  return CONFIG_KEYS.map((key) => {
    const leaf = leafAt(key);
    // Every check of the project says what it expects, whatever the wrong value: ask it with none.
    const expected = problemsOf(leaf, undefined)[0]?.expected ?? '';
    const type = (leaf as unknown as { def: { type: string } }).def.type;
    const meta = leaf.meta() as { choices?: readonly number[] } | undefined;
    if (type === 'boolean') return { key, kind: 'boolean', expected };
    if (type === 'enum') return { key, kind: 'choice', expected, choices: (leaf as z.ZodEnum).options };
    if (meta?.choices) return { key, kind: 'choice', expected, choices: meta.choices };
    return { key, kind: type === 'array' ? 'list' : 'number', expected };
  });
}

function leafPaths(schema: z.ZodType, prefix = ''): string[] {
  const shape = (schema as { shape?: Record<string, z.ZodType> }).shape;
  if (shape === undefined) return [prefix];
  return Object.entries(shape).flatMap(([key, inner]) => leafPaths(inner, prefix ? `${prefix}.${key}` : key));
}

/**
 * Run folders written before the margin took the paper's symbols held `margin.scale` and
 * `margin.margin`: read as s and m.
 */
function withPaperMarginNames(value: unknown): unknown {
  const margin = (value as { margin?: Record<string, unknown> } | null)?.margin;
  if (margin === undefined || margin === null || typeof margin !== 'object' || !('scale' in margin))
    return value;
  const { scale, margin: m, ...rest } = margin;
  return { ...(value as object), margin: { ...rest, s: scale, m } };
}

/** A problem of a configuration at one setting: its dotted path, and the message that names it. */
export interface SettingProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Every problem of a configuration, each at the setting it concerns (so a form can show it beside
 * its field): the schema's, then the settings that exclude each other.
 */
export function configProblems(value: unknown): SettingProblem[] {
  const input = withPaperMarginNames(value);
  const problems = problemsOf(TRAINING_CONFIG, input).map((p) => ({
    path: p.path,
    message: p.unknownKey
      ? `unknown key '${p.path}'`
      : p.value === undefined
        ? `missing key '${p.path}'`
        : describeProblem(p),
  }));
  if (problems.length > 0) return problems;
  const config = TRAINING_CONFIG.parse(input);
  const exclusive: SettingProblem[] = [];
  if (config.modules.sfre && config.modules.randomErase) {
    exclusive.push({
      path: 'modules.randomErase',
      message: 'modules.sfre and modules.randomErase exclude each other',
    });
  }
  if (config.microBatchSize > config.batchSize) {
    exclusive.push({
      path: 'microBatchSize',
      message: `microBatchSize ${config.microBatchSize} exceeds batchSize ${config.batchSize}`,
    });
  }
  return exclusive;
}

/**
 * Checks a complete config object. `source` names where it came from (a file, a preset, --set) for
 * the message. Every problem is listed, not just the first.
 */
export function validateConfig(value: unknown, source: string): TrainingConfig {
  const problems = configProblems(value);
  if (problems.length > 0) {
    throw new GabnError(
      'config',
      `invalid training configuration in ${source}:\n  ${problems.map((p) => p.message).join('\n  ')}`,
    );
  }
  return TRAINING_CONFIG.parse(withPaperMarginNames(value));
}

/** Deep merge of plain objects; arrays and scalars replace. */
export function mergeConfig<T>(base: T, override: unknown): T {
  if (override === null || typeof override !== 'object' || Array.isArray(override)) return override as T;
  const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(override)) {
    const current = result[key];
    result[key] =
      current !== null && typeof current === 'object' && !Array.isArray(current)
        ? mergeConfig(current, value)
        : value;
  }
  return result as T;
}

/**
 * `--set key=value` from the command line: the value is parsed as JSON when it can be (numbers,
 * booleans, lists), otherwise taken as a string. Unknown keys are refused here already.
 */
export function parseOverride(assignment: string): Record<string, unknown> {
  const eq = assignment.indexOf('=');
  if (eq <= 0)
    throw new GabnError(
      'usage',
      `--set ${assignment}: expected key=value, e.g. --set optimizer.learningRate=0.01`,
    );
  const key = assignment.slice(0, eq).trim();
  const text = assignment.slice(eq + 1).trim();
  if (!CONFIG_KEYS.includes(key)) {
    throw new GabnError('usage', `--set ${assignment}: unknown key '${key}'`, {
      expected: `one of ${CONFIG_KEYS.join(', ')}`,
    });
  }
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // a bare word such as cosface stays a string
  }
  const parts = key.split('.');
  const root: Record<string, unknown> = {};
  let node = root;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) node[part] = value;
    else node = node[part] = {} as Record<string, unknown>;
  });
  return root;
}
