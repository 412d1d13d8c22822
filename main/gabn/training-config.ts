/**
 * Every hyper-parameter of a GABN run, as plain data (like insightface's config files), with a
 * validator that refuses unknown keys and out-of-range values with a message naming the key, the
 * value and what is allowed. A run's config.json is exactly this object.
 */
import { GabnError } from '../errors.ts';

export interface TrainingConfig {
  readonly seed: number;
  readonly model: {
    readonly depth: number;
    readonly width: number;
    readonly inputSize: number;
    readonly embeddingSize: number;
  };
  readonly margin: { readonly kind: 'arcface' | 'cosface'; readonly scale: number; readonly margin: number };
  readonly epochs: number;
  /** The logical batch (the paper: 200). */
  readonly batchSize: number;
  /** Images per forward/backward pass; gradients are accumulated up to batchSize. 0 = chosen from memory. */
  readonly microBatchSize: number;
  readonly sampling: 'natural' | 'group-balanced';
  readonly optimizer: {
    readonly learningRate: number;
    readonly momentum: number;
    readonly weightDecay: number;
    /** Epochs after which the learning rate is multiplied by `decay` (the paper: 9, 15, 20). */
    readonly milestones: readonly number[];
    readonly decay: number;
  };
  readonly modules: {
    /** GAM consistency training (Eq. 3-4): the discriminator and L_adv. */
    readonly gamCt: boolean;
    /** GAM-guided sensitive facial region erasure. */
    readonly sfre: boolean;
    /** Random erase with the same sizes (the ablation). */
    readonly randomErase: boolean;
    /** Confidence balance (Eq. 5). */
    readonly confidenceBalance: boolean;
  };
  /** How Eq. 7-8 are combined (docs/objectives.md). */
  readonly objective: 'paper' | 'decoupled';
  /** s of P = softmax(s·cos θ) in the GAM (Eq. 1). */
  readonly gamScale: number;
  readonly erase: { readonly count: number; readonly maxHeight: number; readonly maxWidth: number };
  readonly confidence: { readonly threshold: number; readonly lambda: number };
  readonly adversarial: { readonly lambda: number };
  readonly discriminator: {
    readonly width: number;
    readonly learningRate: number;
    readonly momentum: number;
    readonly weightDecay: number;
  };
}

type Rule =
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  | { readonly kind: 'number'; readonly min: number; readonly max: number; readonly minExclusive?: boolean }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'choice'; readonly choices: readonly (string | number)[] }
  | { readonly kind: 'integers'; readonly min: number; readonly max: number };

/** The allowed value of every key, by dotted path. */
export const CONFIG_RULES: Readonly<Record<string, Rule>> = {
  seed: { kind: 'integer', min: 0, max: 2 ** 32 - 1 },
  'model.depth': { kind: 'choice', choices: [18, 34, 50, 100] },
  'model.width': { kind: 'number', min: 0, max: 16, minExclusive: true },
  'model.inputSize': { kind: 'integer', min: 16, max: 1024 },
  'model.embeddingSize': { kind: 'integer', min: 1, max: 65536 },
  'margin.kind': { kind: 'choice', choices: ['arcface', 'cosface'] },
  'margin.scale': { kind: 'number', min: 0, max: 1024, minExclusive: true },
  'margin.margin': { kind: 'number', min: 0, max: 1.5 },
  epochs: { kind: 'integer', min: 1, max: 10000 },
  batchSize: { kind: 'integer', min: 2, max: 100000 },
  microBatchSize: { kind: 'integer', min: 0, max: 100000 },
  sampling: { kind: 'choice', choices: ['natural', 'group-balanced'] },
  'optimizer.learningRate': { kind: 'number', min: 0, max: 10, minExclusive: true },
  'optimizer.momentum': { kind: 'number', min: 0, max: 0.999 },
  'optimizer.weightDecay': { kind: 'number', min: 0, max: 1 },
  'optimizer.milestones': { kind: 'integers', min: 1, max: 10000 },
  'optimizer.decay': { kind: 'number', min: 0, max: 1, minExclusive: true },
  'modules.gamCt': { kind: 'boolean' },
  'modules.sfre': { kind: 'boolean' },
  'modules.randomErase': { kind: 'boolean' },
  'modules.confidenceBalance': { kind: 'boolean' },
  objective: { kind: 'choice', choices: ['paper', 'decoupled'] },
  gamScale: { kind: 'number', min: 0, max: 1024, minExclusive: true },
  'erase.count': { kind: 'integer', min: 0, max: 10000 },
  'erase.maxHeight': { kind: 'integer', min: 1, max: 1024 },
  'erase.maxWidth': { kind: 'integer', min: 1, max: 1024 },
  'confidence.threshold': { kind: 'number', min: 0, max: 1 },
  'confidence.lambda': { kind: 'number', min: 0, max: 100 },
  'adversarial.lambda': { kind: 'number', min: 0, max: 100 },
  'discriminator.width': { kind: 'number', min: 0, max: 16, minExclusive: true },
  'discriminator.learningRate': { kind: 'number', min: 0, max: 10, minExclusive: true },
  'discriminator.momentum': { kind: 'number', min: 0, max: 0.999 },
  'discriminator.weightDecay': { kind: 'number', min: 0, max: 1 },
};

function describeRule(rule: Rule): string {
  switch (rule.kind) {
    case 'integer':
      return `an integer in [${rule.min}, ${rule.max}]`;
    case 'number':
      return `a number in ${rule.minExclusive ? '(' : '['}${rule.min}, ${rule.max}]`;
    case 'boolean':
      return 'true or false';
    case 'choice':
      return `one of ${rule.choices.join(', ')}`;
    case 'integers':
      return `a list of increasing integers in [${rule.min}, ${rule.max}]`;
  }
}

function valueProblem(rule: Rule, value: unknown): boolean {
  switch (rule.kind) {
    case 'integer':
      return !(Number.isInteger(value) && (value as number) >= rule.min && (value as number) <= rule.max);
    case 'number':
      return !(
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (rule.minExclusive ? value > rule.min : value >= rule.min) &&
        value <= rule.max
      );
    case 'boolean':
      return typeof value !== 'boolean';
    case 'choice':
      return !rule.choices.includes(value as string | number);
    case 'integers':
      return !(
        Array.isArray(value) &&
        value.every(
          (v, i) => Number.isInteger(v) && v >= rule.min && v <= rule.max && (i === 0 || v > value[i - 1]),
        )
      );
  }
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.set(prefix, value);
  }
}

/**
 * Checks a complete config object. `source` names where it came from (a file, a preset, --set) for
 * the message. Every problem is listed, not just the first.
 */
export function validateConfig(value: unknown, source: string): TrainingConfig {
  const flat = new Map<string, unknown>();
  flatten(value, '', flat);
  const problems: string[] = [];
  for (const [key, v] of flat) {
    const rule = CONFIG_RULES[key];
    if (rule === undefined) problems.push(`unknown key '${key}'`);
    else if (valueProblem(rule, v)) {
      problems.push(`${key} = ${JSON.stringify(v)} is not ${describeRule(rule)}`);
    }
  }
  for (const key of Object.keys(CONFIG_RULES)) if (!flat.has(key)) problems.push(`missing key '${key}'`);
  if (problems.length > 0) {
    throw new GabnError('config', `invalid training configuration in ${source}:\n  ${problems.join('\n  ')}`);
  }
  const config = value as TrainingConfig;
  if (config.modules.sfre && config.modules.randomErase) {
    throw new GabnError(
      'config',
      `invalid training configuration in ${source}: modules.sfre and modules.randomErase exclude each other`,
    );
  }
  if (config.microBatchSize > config.batchSize) {
    throw new GabnError(
      'config',
      `invalid training configuration in ${source}: microBatchSize ${config.microBatchSize} exceeds batchSize ${config.batchSize}`,
    );
  }
  return config;
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
  if (CONFIG_RULES[key] === undefined) {
    throw new GabnError('usage', `--set ${assignment}: unknown key '${key}'`, {
      expected: `one of ${Object.keys(CONFIG_RULES).join(', ')}`,
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
