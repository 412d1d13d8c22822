/**
 * `npm start` → `gabn start`: makes the demo workspace ready (synthetic faces, and the real pretrained
 * network shipped in @vladmandic/face-api imported as a checkpoint), then audits that network on the
 * synthetic RFW-style test set and writes the fairness report. Everything is reused on later runs
 * (the data, the checkpoint, the cached embeddings).
 */
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../data/synth/generate.ts';
import { GabnError } from '../errors.ts';
import { importFaceApi } from '../models/importers/face-api.ts';
import { writeFaceApiCheckpoint } from '../models/importers/face-api-checkpoint.ts';
import { formatOptions, parseArgs } from './args.ts';
import { auditCommand } from './audit.ts';
import type { CliCommand } from './command.ts';
import { progressLine } from './progress.ts';

const options = {
  workspace: {
    type: 'string',
    description: 'the demo workspace (default $GABN_WORKSPACE or ~/.gabn-studio/demo)',
  },
} as const;

export function defaultWorkspace(): string {
  return process.env.GABN_WORKSPACE ?? path.join(os.homedir(), '.gabn-studio', 'demo');
}

export const startCommand: CliCommand = {
  path: ['start'],
  summary: 'prepare the demo workspace and audit a real pretrained network on it',
  usage: `gabn start [--workspace DIR]\n\nCreates the demo workspace when it is missing: synthetic faces (gabn synth, seed 7) and the\nface-api network as a checkpoint (gabn import face-api); then audits the network on the synthetic\ntest set and writes reports/demo-audit.html and .json in the workspace.\n\nOptions:\n${formatOptions(options)}`,
  async run(args, context) {
    const { options: o, positionals } = parseArgs(args, options);
    if (positionals.length > 0) throw new GabnError('usage', `unexpected argument '${positionals[0]}'`);
    const workspace = path.resolve((o.workspace as string | undefined) ?? defaultWorkspace());
    const data = path.join(workspace, 'synthetic');
    const checkpoint = path.join(workspace, 'face-api.gabn');
    const reports = path.join(workspace, 'reports');
    context.stdout.write(`GABN Studio demo workspace: ${workspace}\n`);
    if (!existsSync(path.join(data, 'synth.json'))) {
      context.stdout.write('generating the synthetic face dataset (once)…\n');
      const progress = progressLine(context.stderr, 'rendering faces');
      await generateSyntheticDataset(
        data,
        { ...DEFAULT_SYNTH, seed: 7 },
        { force: true, signal: context.signal, onProgress: (p) => progress.update(p.done, p.total) },
      );
      progress.done();
    }
    if (!existsSync(path.join(checkpoint, 'checkpoint.json'))) {
      context.stdout.write('importing the pretrained face-api network (once)…\n');
      await writeFaceApiCheckpoint(checkpoint, await importFaceApi(), { force: true });
    }
    mkdirSync(reports, { recursive: true });
    const html = path.join(reports, 'demo-audit.html');
    const json = path.join(reports, 'demo-audit.json');
    context.stdout.write(
      'auditing the network on the synthetic test set (embeddings are cached after the first run)…\n',
    );
    const code = await auditCommand.run(
      [
        '--checkpoint',
        checkpoint,
        '--data',
        path.join(data, 'rfw'),
        '--bootstrap',
        '500',
        '--attention-images',
        '16',
        '--out',
        html,
        '--out',
        json,
      ],
      context,
    );
    if (code !== 0) return code;
    context.stdout.write(
      [
        '',
        `Open the report: ${html}`,
        'Explore further:',
        `  npx gabn data check ${path.join(data, 'rfw')}`,
        `  npx gabn gam --checkpoint ${checkpoint} --data ${path.join(data, 'rfw')} --limit 16 --out ${path.join(workspace, 'attention')} --force`,
        `  npx gabn checkpoint info ${checkpoint}`,
        `  the contact sheets: ${path.join(data, 'contact-sheet-group-a.png')} … group-d`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
