/**
 * `gabn checkpoint export`: a checkpoint for people who audit rather than train: the face network and
 * its identity head (the GAM needs the head), without the discriminator and optimiser state a run
 * keeps for resuming, optionally in float16. This is how a run's checkpoint becomes a shippable one.
 */
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { loadEngine } from '../engine/index.ts';
import { loadCheckpoint, saveCheckpoint } from '../models/checkpoint.ts';
import type { JsonObject } from '../models/checkpoint-schema.ts';
import { disposeParams } from '../models/parameters.ts';
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
    const source = path.resolve(positionals[0]!);
    await loadEngine();
    const checkpoint = await loadCheckpoint(source);
    try {
      const provenance = checkpoint.provenance as {
        data?: JsonObject;
        config?: JsonObject;
        metrics?: JsonObject;
      };
      const json = await saveCheckpoint(
        o.out,
        {
          model: checkpoint.model,
          groups: checkpoint.groups,
          classCount: checkpoint.classCount,
          ...(checkpoint.head ? { head: checkpoint.head } : {}),
          ...(checkpoint.margin ? { margin: checkpoint.margin } : {}),
          provenance: {
            data: { ...(provenance.data ?? {}), exportedFrom: source },
            config: provenance.config ?? {},
            metrics: provenance.metrics ?? {},
          },
        },
        { storage: o.float16 === true ? 'float16' : 'float32' },
      );
      context.stdout.write(
        `wrote ${path.resolve(o.out)}: ${json.architecture.name}, ${json.parameterCount.toLocaleString('en')} parameters, ${o.float16 === true ? 'float16' : 'float32'}${checkpoint.head ? ', with its head' : ''}\n`,
      );
      return 0;
    } finally {
      disposeParams(checkpoint.model.params);
      if (checkpoint.head) disposeParams(checkpoint.head.params);
      if (checkpoint.discriminator) disposeParams(checkpoint.discriminator.params);
      for (const t of Object.values(checkpoint.optimizer?.tensors ?? {})) t.dispose();
    }
  },
};
