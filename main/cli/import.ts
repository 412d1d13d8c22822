import { GabnError } from '../base/errors.ts';
import { importFaceApi } from '../models/importers/face-api.ts';
import { writeFaceApiCheckpoint } from '../models/importers/face-api-checkpoint.ts';
import { formatOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';

const options = {
  out: { type: 'string', description: 'the checkpoint directory to write (e.g. models/face-api.gabn)' },
  force: { type: 'boolean', description: 'replace the directory if it already exists' },
} as const;

export const importFaceApiCommand: CliCommand = {
  path: ['import', 'face-api'],
  summary: 'import the pretrained face recognition network of @vladmandic/face-api as a checkpoint',
  usage: `gabn import face-api --out DIR [--force]\n\nReads the face recognition network (dlib's ResNet, 128-D descriptor) that the npm package\n@vladmandic/face-api ships, dequantizes and checks its weights, and writes them as a GABN checkpoint\ndirectory, atomically. Provenance records the package version, the sha256 of its files and its licence\nnotes. See docs/importing-models.md.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: opts, positionals } = parseArgs(args, options);
    if (positionals.length > 0) {
      throw new GabnError('usage', `unexpected argument '${positionals[0]}'`, {
        expected: 'gabn import face-api --out DIR [--force]',
      });
    }
    const out = opts.out;
    if (typeof out !== 'string' || out.trim() === '') {
      throw new GabnError('usage', 'gabn import face-api needs --out DIR', {
        expected: 'the checkpoint directory to write, e.g. --out models/face-api.gabn',
      });
    }
    const imported = await importFaceApi();
    context.signal.throwIfAborted();
    const written = await writeFaceApiCheckpoint(out, imported, { force: opts.force === true });
    const { source } = imported.provenance;
    const lines = [
      `wrote ${written.dir}`,
      ...written.files.map((f) => `  ${f.name.padEnd(18)} ${f.bytes.toLocaleString('en-US')} bytes`),
      `architecture  ${imported.architecture.family}, ${imported.architecture.inputSize}x${imported.architecture.inputSize} RGB input, ${imported.architecture.embeddingSize}-D embedding, no head`,
      `parameters    ${imported.parameterCount.toLocaleString('en-US')} in ${imported.weights.length} tensors`,
      `source        ${source.package}@${source.version} ${source.manifest}`,
      `sha256        ${source.manifestSha256} (manifest)`,
      ...source.shards.map((s) => `              ${s.sha256} (${s.file})`),
      `licence       package ${imported.provenance.license.package}; the weights' origin is quoted in provenance.data.import.license`,
    ];
    context.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
