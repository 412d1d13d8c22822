/**
 * `gabn mechanisms`: the mechanism figures (docs/training.md) of a saved checkpoint of a run, after
 * the fact, on the probe set of the training set it was trained on — for checkpoints trained before
 * runs recorded them, or to compare runs' final checkpoints on one footing.
 */
import { GabnError } from '../base/errors.ts';
import { loadEngine } from '../engine/index.ts';
import { DEFAULT_MECHANISM_PROBES, MAX_MECHANISM_PROBES } from '../gabn/training-config.ts';
import type { Estimate } from '../report/report-model.ts';
import { describeMechanisms, measureCheckpointMechanisms } from '../usecases/training/mechanisms.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';

const USAGE = 'gabn mechanisms --checkpoint C.gabn --data TRAIN [--probes N] [--json]';

const options = {
  checkpoint: { type: 'string', description: 'a checkpoint of a run, with its identity head (<name>.gabn)' },
  data: { type: 'string', description: 'the training set it was trained on (its probe images)' },
  probes: {
    type: 'number',
    description: `probe images per group (default: as many as the checkpoint's run measured on, else ${DEFAULT_MECHANISM_PROBES}; more narrows the intervals)`,
  },
  json: { type: 'boolean', description: 'print the figures as JSON (the metrics.jsonl mechanisms object)' },
} as const;

function shown(e: Estimate, digits = 3): string {
  const f = (v: number | null) => (v === null ? 'n/a' : v.toFixed(digits));
  if (e.value === null) return 'n/a';
  return e.interval ? `${f(e.value)} [${f(e.interval.lower)}, ${f(e.interval.upper)}]` : f(e.value);
}

export const mechanismsCommand: CliCommand = {
  path: ['mechanisms'],
  summary: "measure a run's checkpoint: discriminator accuracy, attention spread, GAM distance, confidence",
  usage: `${USAGE}\n\nThe figures a run records after every epoch, measured on a saved checkpoint: the discriminator's\naccuracy on the probe GAMs (chance 1/G; n/a without a discriminator), each group's mass fraction,\nentropy, lattice share and confidence with 95% intervals, and the total variation distance between\nthe groups' average GAMs with its interval. For an epoch checkpoint, on its run's probe set (the\ndefault), they equal what its epoch recorded.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0)
      throw new GabnError('usage', `unexpected argument '${positionals[0]}'`, { expected: USAGE });
    for (const name of ['checkpoint', 'data'] as const) {
      if (typeof o[name] !== 'string' || o[name] === '') {
        throw new GabnError('usage', `gabn mechanisms needs --${name}`, { expected: USAGE });
      }
    }
    const probes = o.probes as number | undefined;
    if (
      probes !== undefined &&
      !(Number.isInteger(probes) && probes >= 1 && probes <= MAX_MECHANISM_PROBES)
    ) {
      throw new GabnError('usage', `--probes ${probes} is out of range`, {
        expected: `a whole number in [1, ${MAX_MECHANISM_PROBES}]`,
      });
    }
    await loadEngine();
    const m = await measureCheckpointMechanisms(o.checkpoint as string, o.data as string, probes);
    if (o.json === true) {
      context.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `probe: up to ${m.probesPerGroup} training images per group`,
      'group     images  mass fraction          entropy                lattice share          confidence',
      ...Object.entries(m.groups).map(
        ([group, g]) =>
          `${group.padEnd(9)} ${String(g.images).padStart(6)}  ${shown(g.massFraction).padEnd(22)} ${shown(g.entropy).padEnd(22)} ${shown(g.latticeShare).padEnd(22)} ${shown(g.confidence)}`,
      ),
      describeMechanisms(m),
    ];
    context.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
