import { GabnError } from '../base/errors.ts';
import { readCheckpoint } from '../models/checkpoint.ts';
import { isIResNetArchitecture, type WeightsManifestGroup } from '../models/checkpoint-schema.ts';
import { discriminatorParameterCount, discriminatorSpec } from '../models/discriminator.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';

const options = {
  json: { type: 'boolean', description: 'print the description as JSON' },
} as const;

function storageOf(groups: WeightsManifestGroup[]): 'float32' | 'float16' | 'mixed' {
  const kinds = new Set(
    groups.flatMap((g) => g.weights.map((w) => (w.quantization ? 'float16' : 'float32'))),
  );
  return kinds.size === 1 ? (kinds.has('float16') ? 'float16' : 'float32') : 'mixed';
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export const checkpointInfoCommand: CliCommand = {
  path: ['checkpoint', 'info'],
  summary: 'describe a checkpoint: architecture, parameters, groups, classes, provenance, files',
  usage: `gabn checkpoint info PATH [--json]\n\nReads the checkpoint directory PATH (<name>.gabn), checks every file against checkpoint.json\n(tensor names, shapes, byte counts, finite values) and prints its architecture, parameter count,\ninput and embedding sizes, groups, classes, provenance and file sizes.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: opts, positionals } = parseArgs(args, options);
    if (positionals.length !== 1) {
      throw new GabnError('usage', `checkpoint info takes one PATH, got ${positionals.length}`, {
        expected: 'gabn checkpoint info PATH [--json]',
      });
    }
    // Imported networks (gabn import face-api) are described too; only iResNets can be trained.
    const files = await readCheckpoint(positionals[0]!, { anyArchitecture: true });
    const j = files.json;
    const report = {
      path: files.dir,
      formatVersion: j.formatVersion,
      architecture: j.architecture,
      parameterCount: j.parameterCount,
      inputSize: j.inputSize,
      embeddingSize: j.embeddingSize,
      groups: j.groups,
      classCount: j.classCount,
      provenance: j.provenance,
      storage: storageOf(j.weights),
      head: j.head === undefined ? null : { classes: j.head.classes, margin: j.head.margin },
      discriminator:
        j.discriminator === undefined
          ? null
          : {
              family: j.discriminator.family,
              width: j.discriminator.width,
              groups: j.discriminator.groups,
              parameterCount: discriminatorParameterCount(
                discriminatorSpec(j.discriminator.groups, j.discriminator.width),
              ),
            },
      optimizer:
        j.optimizer === undefined ? null : { tensors: files.optimizer?.size ?? 0, state: j.optimizer.state },
      files: files.fileSizes,
    };
    if (opts.json) {
      context.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    const a = j.architecture;
    const p = j.provenance;
    const compact = (value: unknown) => JSON.stringify(value);
    const lines = [
      `checkpoint     ${files.dir} (format ${j.formatVersion})`,
      `architecture   ${isIResNetArchitecture(a) ? `${a.name}: iResNet-${a.depth}, width ×${a.width}` : `${a.name}: ${a.family} (imported; audited, not trained, by GABN Studio)`}`,
      `parameters     ${j.parameterCount.toLocaleString('en-US')}`,
      `input size     ${j.inputSize}×${j.inputSize}×3`,
      `embedding      ${j.embeddingSize}`,
      `groups         ${j.groups.length === 0 ? '(none)' : `${j.groups.length}: ${j.groups.join(', ')}`}`,
      `classes        ${j.classCount.toLocaleString('en-US')}`,
      `storage        ${report.storage}`,
      `head           ${j.head ? `${j.head.margin.kind} s=${j.head.margin.s} m=${j.head.margin.m}, ${j.head.classes} classes` : 'not saved'}`,
      `discriminator  ${report.discriminator ? `ResNet-18 width ×${report.discriminator.width}, ${report.discriminator.groups} groups, ${report.discriminator.parameterCount.toLocaleString('en-US')} parameters` : 'not saved'}`,
      `optimizer      ${report.optimizer ? `${report.optimizer.tensors} tensors, state ${compact(report.optimizer.state)}` : 'not saved'}`,
      'provenance',
      `  software     GABN Studio ${p.softwareVersion}`,
      `  created      ${p.createdAt}`,
      `  data         ${compact(p.data)}`,
      `  config       ${compact(p.config)}`,
      `  metrics      ${compact(p.metrics)}`,
      'files',
      ...Object.entries(files.fileSizes).map(([name, size]) => `  ${name.padEnd(18)} ${bytes(size)}`),
    ];
    context.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
