/**
 * `gabn import onnx|pytorch|tfjs-graph MODEL --out M.gabn`: bring your own model. The work is the
 * import use case (main/usecases/import/import-model.ts); this file parses options and prints.
 */
import { GabnError } from '../base/errors.ts';
import { type ImportFormat, type ImportRequest, importModel } from '../usecases/import/import-model.ts';
import { formatOptions, type ParsedOptions, parseArgs } from './args.ts';
import type { CliCommand } from './command.ts';

const common = {
  out: { type: 'string', description: 'the checkpoint directory to write (e.g. models/r50.gabn)' },
  force: { type: 'boolean', description: 'replace the directory if it already exists (only a checkpoint)' },
  mean: { type: 'string', description: "what the source subtracts from pixels 0..255: one value or 'r,g,b'" },
  std: { type: 'string', description: "what the source divides by after that: one value or 'r,g,b'" },
  bgr: { type: 'boolean', description: 'the source takes its channels in BGR order' },
} as const;

const iresnet = {
  ...common,
  'input-size': { type: 'number', description: 'the face size in pixels, when the file does not say (112)' },
} as const;

function triple(value: unknown, name: string): [number, number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = String(value)
    .split(',')
    .map((p) => Number(p.trim()));
  const values = parts.length === 1 ? [parts[0]!, parts[0]!, parts[0]!] : parts;
  if (values.length !== 3 || !values.every(Number.isFinite)) {
    throw new GabnError('usage', `--${name} is '${String(value)}'`, {
      expected: "a number, or three as 'r,g,b'",
    });
  }
  return values as [number, number, number];
}

function request(
  format: ImportFormat,
  opts: ParsedOptions,
  positionals: string[],
  usage: string,
): ImportRequest {
  if (positionals.length !== 1) {
    throw new GabnError(
      'usage',
      positionals.length === 0 ? 'which model file?' : `unexpected argument '${positionals[1]}'`,
      {
        expected: usage,
      },
    );
  }
  if (typeof opts.out !== 'string' || opts.out.trim() === '') {
    throw new GabnError('usage', `gabn import ${format} needs --out DIR`, { expected: usage });
  }
  const mean = triple(opts.mean, 'mean');
  const std = triple(opts.std, 'std');
  const normalisation = {
    ...(mean ? { mean } : {}),
    ...(std ? { std } : {}),
    ...(opts.bgr === true ? { colour: 'BGR' as const } : {}),
  };
  let depth: number | undefined;
  if (opts.arch !== undefined) {
    const match = /^(?:r|iresnet)(\d+)$/.exec(String(opts.arch));
    if (match === null)
      throw new GabnError('usage', `--arch is '${String(opts.arch)}'`, {
        expected: 'r18, r34, r50, r100 or r200',
      });
    depth = Number(match[1]);
  }
  return {
    format,
    source: positionals[0]!,
    out: opts.out,
    force: opts.force === true,
    ...(depth === undefined ? {} : { depth }),
    ...(typeof opts['input-size'] === 'number' ? { inputSize: opts['input-size'] } : {}),
    ...(Object.keys(normalisation).length > 0 ? { normalisation } : {}),
  };
}

function command(
  format: ImportFormat,
  usage: string,
  summary: string,
  about: string,
  spec: Record<string, { type: 'string' | 'number' | 'boolean' | 'strings'; description: string }>,
): CliCommand {
  return {
    path: ['import', format],
    summary,
    usage: `${usage}\n\n${about}\nSee docs/importing-models.md.\n\nOptions:\n${formatOptions(spec)}`,
    async run(args, context) {
      const { options: opts, positionals } = parseArgs(args, spec);
      const outcome = await importModel(request(format, opts, positionals, usage), {
        signal: context.signal,
        onProgress: (done, total, message) => {
          if (done < total) context.stderr.write(`${message}…\n`);
        },
      });
      const lines = [
        `wrote ${outcome.out}`,
        `architecture  ${outcome.architecture} (${outcome.family}), ${outcome.inputSize}x${outcome.inputSize} input, ${outcome.embeddingSize}-D embedding`,
        `parameters    ${outcome.parameterCount.toLocaleString('en-US')}`,
        `trainable     ${outcome.trainable ? 'yes (gabn train --from)' : 'no: audited, not fine-tuned, by GABN Studio'}`,
        ...outcome.notes.map((n) => `note          ${n}`),
      ];
      context.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    },
  };
}

const INPUT_ABOUT =
  "The input normalisation is folded into the first convolution, so the checkpoint takes the\nproject's (p - 127.5) / 128 like every checkpoint. The default is arcface_torch's (p - 127.5) / 127.5\nRGB, or what the graph itself does when it normalises inside (insightface's converted models).";

export const importOnnxCommand = command(
  'onnx',
  'gabn import onnx MODEL.onnx --out DIR [--input-size N] [--mean M] [--std S] [--bgr] [--force]',
  'import an insightface iResNet from an ONNX file as a checkpoint',
  `Recognises the insightface iResNet (r18, r34, r50, r100, r200; batch norm folded into the\nconvolutions or not) in the graph and writes it as an iResNet checkpoint that every audit, GAM,\nGrad-CAM and fine-tune uses. An op or layout the importer does not know is an error naming the node.\n${INPUT_ABOUT}`,
  iresnet,
);

export const importPytorchCommand = command(
  'pytorch',
  'gabn import pytorch backbone.pth --out DIR [--arch r50] [--input-size N] [--mean M] [--std S] [--bgr] [--force]',
  'import an arcface_torch state dict (.pth, .pt, .safetensors) as a checkpoint',
  `Reads the state dict with a reader that accepts only tensors (no pickled code is ever run), checks\nevery tensor against the iResNet whose blocks it has (--arch, when given, must agree) and writes it\nas an iResNet checkpoint.\n${INPUT_ABOUT}`,
  {
    ...iresnet,
    arch: { type: 'string', description: 'r18, r34, r50, r100 or r200 (checked against the tensors)' },
  },
);

export const importTfjsGraphCommand = command(
  'tfjs-graph',
  'gabn import tfjs-graph model.json --out DIR [--mean M] [--std S] [--bgr] [--force]',
  'import a TensorFlow.js graph model as an embedder checkpoint (pair GAM only, not trainable)',
  'Copies the graph and its weights into the checkpoint and runs it with @tensorflow/tfjs-converter.\nSuch a checkpoint has no identity head and cannot be fine-tuned: its attention maps are pair GAMs.\nA graph does not say how it wants its pixels: the default is p / 255 RGB (--mean 0 --std 255).',
  common,
);
