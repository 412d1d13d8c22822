/**
 * Validation of untrusted structured input (API arguments, training configurations, run files) with
 * zod: one declaration gives both the TypeScript type and the checks. The builders here make every
 * check's failure say, in words, what was expected, so that `problemsOf` can list every problem at
 * once as "path is value (expected …)", the form all of the project's messages take.
 */
import { z } from 'zod';

export { z };

/** What a failed check says it expected: the same words for every check on the value. */
function says(expected: string) {
  return { error: expected };
}

export function integerIn(min: number, max: number) {
  const expected = `an integer in [${min}, ${max}]`;
  return z.int(says(expected)).min(min, says(expected)).max(max, says(expected));
}

/** A finite number in [min, max], or (min, max] with `minExclusive`. */
export function numberIn(min: number, max: number, options: { minExclusive?: boolean } = {}) {
  const expected = `a number in ${options.minExclusive ? '(' : '['}${min}, ${max}]`;
  const base = z.number(says(expected)).max(max, says(expected));
  return options.minExclusive ? base.gt(min, says(expected)) : base.min(min, says(expected));
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, says(`one of ${values.join(', ')}`));
}

export function oneOfNumbers<const T extends readonly [number, ...number[]]>(values: T) {
  const expected = `one of ${values.join(', ')}`;
  return (
    z
      .number(says(expected))
      .refine((v): v is T[number] => (values as readonly number[]).includes(v), says(expected))
      // The choices, for a form that offers them (a refinement does not show them).
      .meta({ choices: [...values] }) as unknown as z.ZodType<T[number]>
  );
}

export function flag() {
  return z.boolean(says('true or false'));
}

/** A non-empty string without NUL characters, of at most `maxLength` characters. */
export function text(maxLength = 4096) {
  const expected = `a non-empty string of at most ${maxLength} characters`;
  return z
    .string(says(expected))
    .min(1, says(expected))
    .max(maxLength, says(expected))
    .refine((v) => !v.includes('\u0000'), says(expected));
}

/** A strictly increasing list of integers in [min, max]. */
export function increasingIntegers(min: number, max: number) {
  const expected = `a list of increasing integers in [${min}, ${max}]`;
  return z
    .array(z.int(says(expected)).min(min, says(expected)).max(max, says(expected)), says(expected))
    .refine((list) => list.every((v, i) => i === 0 || v > list[i - 1]!), says(expected));
}

/** An object that refuses unknown keys. */
export function record<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape);
}

export interface Problem {
  /** Dotted path of the value ('' for the whole input). */
  readonly path: string;
  /** What the path holds: the value, or undefined when it is missing. */
  readonly value: unknown;
  /** What was expected there, in words; for an unknown key, 'no such key'. */
  readonly expected: string;
  /** An unknown key (its value is not checked). */
  readonly unknownKey?: boolean;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let node = input;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Every problem zod found, in input order; empty when `input` is valid. */
export function problemsOf(schema: z.ZodType, input: unknown): Problem[] {
  const parsed = schema.safeParse(input);
  if (parsed.success) return [];
  const problems: Problem[] = [];
  for (const issue of parsed.error.issues) {
    const prefix = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({
          path: prefix ? `${prefix}.${key}` : key,
          value: valueAt(input, [...issue.path, key]),
          expected: 'no such key',
          unknownKey: true,
        });
      }
    } else {
      problems.push({ path: prefix, value: valueAt(input, issue.path), expected: issue.message });
    }
  }
  return problems;
}

/**
 * The keys an object schema allows at `path` inside `input` (through nested objects, optional
 * wrappers and the member of a discriminated union that `input` selects); [] where none is known.
 */
export function allowedKeys(schema: z.ZodType, input: unknown, path: readonly string[]): string[] {
  let node: unknown = schema;
  let value = input;
  for (const key of [...path, '']) {
    while (node instanceof z.ZodOptional || node instanceof z.ZodDefault) node = node.unwrap();
    if (node instanceof z.ZodDiscriminatedUnion) {
      const discriminator = (node.def as { discriminator: string }).discriminator;
      const chosen = (value as Record<string, unknown> | undefined)?.[discriminator];
      node = (node.options as z.ZodObject[]).find(
        (o) => (o.shape[discriminator] as z.ZodLiteral).value === chosen,
      );
    }
    if (!(node instanceof z.ZodObject)) return [];
    if (key === '') return Object.keys(node.shape);
    node = node.shape[key];
    value = (value as Record<string, unknown> | undefined)?.[key];
  }
  return [];
}

/** A value as a message shows it: strings quoted and cut at 60 characters, the rest as JSON. */
export function shownValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'string') return `'${value.slice(0, 60)}'`;
  if (Array.isArray(value)) return value.length > 8 ? 'an array' : JSON.stringify(value);
  if (value === null) return 'null';
  // JSON writes Infinity as null: a number is shown as itself.
  if (typeof value === 'number') return String(value);
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 80 ? 'an object' : json;
}

/** "path is value (expected …)", the project's one phrasing of a validation problem. */
export function describeProblem(problem: Problem): string {
  return `${problem.path} is ${shownValue(problem.value)} (expected ${problem.expected})`;
}
