import { describe, expect, it } from 'vitest';
import {
  allowedKeys,
  describeProblem,
  increasingIntegers,
  integerIn,
  numberIn,
  oneOf,
  problemsOf,
  record,
  text,
  z,
} from '../../../main/base/validation.ts';

const schema = record({
  name: text(8),
  count: integerIn(1, 5),
  rate: numberIn(0, 1, { minExclusive: true }),
  kind: oneOf(['a', 'b']),
  steps: increasingIntegers(1, 10),
  nested: record({ on: z.boolean() }).optional(),
});

describe('validation', () => {
  it('lists every problem with its path, the value and what was expected', () => {
    const problems = problemsOf(schema, {
      name: '',
      count: 7,
      rate: 0,
      kind: 'c',
      steps: [3, 2],
      nested: { on: true, off: 1 },
      extra: 2,
    });
    expect(problems.map(describeProblem)).toEqual([
      "name is '' (expected a non-empty string of at most 8 characters)",
      'count is 7 (expected an integer in [1, 5])',
      'rate is 0 (expected a number in (0, 1])',
      "kind is 'c' (expected one of a, b)",
      'steps is [3,2] (expected a list of increasing integers in [1, 10])',
      'nested.off is 1 (expected no such key)',
      'extra is 2 (expected no such key)',
    ]);
    expect(problems.filter((p) => p.unknownKey).map((p) => p.path)).toEqual(['nested.off', 'extra']);
    expect(problemsOf(schema, { name: 'x', count: 1, rate: 1, kind: 'a', steps: [1, 4] })).toEqual([]);
    expect(problemsOf(schema, { count: 1 }).map((p) => p.path)).toEqual(['name', 'rate', 'kind', 'steps']);
    expect(problemsOf(text(), 'a\u0000b')).toHaveLength(1);
  });

  it('knows the keys allowed where an unknown one appeared, through unions and optionals', () => {
    const union = z.discriminatedUnion('kind', [
      record({ kind: z.literal('x'), params: record({ p: z.number() }) }),
      record({ kind: z.literal('y'), params: record({ q: z.number(), r: z.number() }) }),
    ]);
    expect(allowedKeys(union, { kind: 'y', params: {} }, ['params'])).toEqual(['q', 'r']);
    expect(allowedKeys(union, { kind: 'x' }, [])).toEqual(['kind', 'params']);
    expect(allowedKeys(schema, {}, ['nested'])).toEqual(['on']);
    expect(allowedKeys(schema, {}, ['count'])).toEqual([]);
  });
});
