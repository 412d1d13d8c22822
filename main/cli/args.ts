import { GabnError } from '../errors.ts';

/**
 * A small, strict option parser: `--name value`, `--name=value` and boolean `--flag`. Unknown options
 * are an error naming the valid ones, so a typo never silently changes what a long job does.
 */
export interface OptionSpec {
  readonly type: 'string' | 'number' | 'boolean' | 'strings';
  readonly description: string;
}

export type ParsedOptions = Record<string, string | number | boolean | string[] | undefined>;

export interface ParsedArgs {
  readonly options: ParsedOptions;
  readonly positionals: string[];
}

export function parseArgs(args: readonly string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const options: ParsedOptions = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const option = spec[name];
    if (option === undefined) {
      const valid = Object.keys(spec)
        .map((k) => `--${k}`)
        .join(', ');
      throw new GabnError('usage', `unknown option --${name}`, { expected: `one of ${valid || '(none)'}` });
    }
    if (option.type === 'boolean') {
      if (eq !== -1) throw new GabnError('usage', `--${name} takes no value`);
      options[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = args[++i];
    if (value === undefined) throw new GabnError('usage', `--${name} needs a value`);
    if (option.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) {
        throw new GabnError('usage', `--${name} must be a number, got '${value}'`);
      }
      options[name] = n;
    } else if (option.type === 'strings') {
      const list = (options[name] as string[] | undefined) ?? [];
      list.push(value);
      options[name] = list;
    } else {
      options[name] = value;
    }
  }
  return { options, positionals };
}

export function formatOptions(spec: Record<string, OptionSpec>): string {
  return Object.entries(spec)
    .map(([name, o]) => `  --${name}${o.type === 'boolean' ? '' : ' <value>'}\n      ${o.description}`)
    .join('\n');
}
