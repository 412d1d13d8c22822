/**
 * `gabn checkpoint export`: a checkpoint for people who audit rather than train, without the training
 * state, optionally in float16 (main/usecases/checkpoints/export-checkpoint.ts).
 */
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { loadEngine } from '../engine/index.ts';
import { exportCheckpoint } from '../usecases/checkpoints/export-checkpoint.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';

const options = {
  out: { type: 'string', description: 'the new checkpoint (<name>.gabn)' },
  float16: {
    type: 'boolean',
    description: 'store the weights in float16 (half the size; relative error ≤ 2^-11)',
  },
} as const;

export const checkpointExportCommand: CliCommand = {
  path: ['checkpoint', 'export'],
  summary: 'copy a checkpoint without its training state (discriminator, optimiser), optionally in float16',
  usage: `gabn checkpoint export PATH --out NEW.gabn [--float16]\n\nWrites the face network and its identity head of PATH to NEW.gabn (atomically), with PATH's\nprovenance and a note of where it came from; the discriminator and the optimiser state are left out.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length !== 1) {
      throw new GabnError('usage', 'gabn checkpoint export needs one checkpoint', {
        expected: 'PATH --out NEW.gabn',
      });
    }
    if (typeof o.out !== 'string')
      throw new GabnError('usage', 'gabn checkpoint export needs --out NEW.gabn');
    await loadEngine();
    const { json, withHead } = await exportCheckpoint({
      source: positionals[0]!,
      out: o.out,
      float16: o.float16 === true,
    });
    context.stdout.write(
      `wrote ${path.resolve(o.out)}: ${json.architecture.name}, ${json.parameterCount.toLocaleString('en')} parameters, ${o.float16 === true ? 'float16' : 'float32'}${withHead ? ', with its head' : ''}\n`,
    );
    return 0;
  },
};
