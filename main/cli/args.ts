/**
 * Options of the `gabn` commands, parsed by Node's own `util.parseArgs` in strict mode: `--name
 * value`, `--name=value`, boolean `--flag` and repeatable options. Unknown options are an error
 * naming the valid ones, so a typo never silently changes what a long job does; numbers are checked
 * here, their ranges by each command.
 */
import { parseArgs as parseNodeArgs } from 'node:util';
import { GabnError } from '../base/errors.ts';

export interface OptionSpec {
  readonly type: 'string' | 'number' | 'boolean' | 'strings';
  readonly description: string;
}

export type ParsedOptions = Record<string, string | number | boolean | string[] | undefined>;

export interface ParsedArgs {
  readonly options: ParsedOptions;
  readonly positionals: string[];
}

type NodeOption = { type: 'string' | 'boolean'; multiple?: boolean };

function usageError(message: string, spec: Record<string, OptionSpec>): GabnError {
  const unknown = /Unknown option '(--?[^']+)'/.exec(message);
  if (unknown) {
    const valid = Object.keys(spec)
      .map((k) => `--${k}`)
      .join(', ');
    return new GabnError('usage', `unknown option ${unknown[1]}`, {
      expected: `one of ${valid || '(none)'}`,
    });
  }
  const missing = /Option '(?:-\w, )?(--[^ ]+) <value>' argument missing/.exec(message);
  if (missing) return new GabnError('usage', `${missing[1]} needs a value`);
  const ambiguous = /Option '(--[^']+)' argument is ambiguous/.exec(message);
  if (ambiguous)
    return new GabnError('usage', `${ambiguous[1]}'s value starts with '-': write ${ambiguous[1]}=VALUE`);
  const noValue = /Option '(--[^']+)' does not take an argument/.exec(message);
  if (noValue) return new GabnError('usage', `${noValue[1]} takes no value`);
  return new GabnError('usage', message);
}

export function parseArgs(args: readonly string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const nodeOptions: Record<string, NodeOption> = {};
  for (const [name, option] of Object.entries(spec)) {
    nodeOptions[name] =
      option.type === 'boolean'
        ? { type: 'boolean' }
        : option.type === 'strings'
          ? { type: 'string', multiple: true }
          : { type: 'string' };
  }
  let parsed: ReturnType<typeof parseNodeArgs>;
  try {
    parsed = parseNodeArgs({ args: [...args], options: nodeOptions, strict: true, allowPositionals: true });
  } catch (error) {
    throw usageError((error as Error).message, spec);
  }
  const options: ParsedOptions = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (spec[name]?.type !== 'number') {
      options[name] = value as string | boolean | string[];
      continue;
    }
    const text = String(value);
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) {
      throw new GabnError('usage', `--${name} must be a number, got '${text}'`);
    }
    options[name] = n;
  }
  return { options, positionals: parsed.positionals };
}

export function formatOptions(spec: Record<string, OptionSpec>): string {
  return Object.entries(spec)
    .map(([name, o]) => `  --${name}${o.type === 'boolean' ? '' : ' <value>'}\n      ${o.description}`)
    .join('\n');
}
