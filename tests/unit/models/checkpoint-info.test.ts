import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { softwareVersion } from '../../../main/base/version.ts';
import { checkpointInfoCommand } from '../../../main/cli/checkpoint-info.ts';
import { commands } from '../../../main/cli/commands.ts';
import { loadEngine } from '../../../main/engine/index.ts';
import {
  createDiscriminator,
  createIResNet,
  createMarginHead,
  iresnetParameterCount,
  iresnetSpec,
  saveCheckpoint,
} from '../../../main/models/index.ts';
import { iresnetLayout } from '../../../main/models/iresnet.ts';

let root: string;
let dir: string;
const spec = iresnetSpec({ depth: 18, width: 0.125, inputSize: 56, embeddingSize: 32 });

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-info-'));
  dir = path.join(root, 'baseline.gabn');
  await saveCheckpoint(
    dir,
    {
      model: createIResNet(spec, 1),
      groups: ['group-a', 'group-b'],
      classCount: 5,
      provenance: { data: { dataset: 'synthetic' }, config: { preset: 'baseline' }, metrics: { avg: 0.91 } },
      head: createMarginHead(32, 5, 2),
      discriminator: createDiscriminator(2, { width: 0.25 }, 3),
    },
    { storage: 'float16' },
  );
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const stdout = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  const code = await checkpointInfoCommand.run(args, {
    signal: new AbortController().signal,
    stdout,
    stderr: stdout,
  });
  return { code, out };
}

describe('gabn checkpoint info', () => {
  it('is registered as `checkpoint info`', () => {
    expect(commands).toContain(checkpointInfoCommand);
    expect(checkpointInfoCommand.path).toEqual(['checkpoint', 'info']);
  });

  it('prints architecture, parameters, sizes, groups, classes, provenance and file sizes', async () => {
    const { code, out } = await run([dir]);
    expect(code).toBe(0);
    const count = iresnetParameterCount(spec).toLocaleString('en-US');
    expect(out).toMatch(/architecture\s+iresnet18-w0\.125-56-e32: iResNet-18, width ×0\.125/);
    expect(out).toContain(`parameters     ${count}`);
    expect(out).toContain('input size     56×56×3');
    expect(out).toContain('embedding      32');
    expect(out).toContain('groups         2: group-a, group-b');
    expect(out).toContain('classes        5');
    expect(out).toContain('storage        float16');
    expect(out).toContain('head           arcface s=64 m=0.35, 5 classes');
    expect(out).toContain(`software     GABN Studio ${softwareVersion().version}`);
    expect(out).toContain('data         {"dataset":"synthetic"}');
    expect(out).toMatch(/weights\.bin\s+\d+(\.\d)? KiB/);
  });

  it('--json gives the same facts, with exact byte sizes', async () => {
    const { out } = await run([dir, '--json']);
    const report = JSON.parse(out);
    expect(report.parameterCount).toBe(iresnetParameterCount(spec));
    expect(report.architecture).toMatchObject({ family: 'iresnet', depth: 18, width: 0.125, inputSize: 56 });
    expect(report.groups).toEqual(['group-a', 'group-b']);
    expect(report.classCount).toBe(5);
    expect(report.discriminator).toMatchObject({ family: 'resnet18', groups: 2, width: 0.25 });
    expect(report.files['weights.bin']).toBe(statSync(path.join(dir, 'weights.bin')).size);
    // float16: two bytes per stored value, parameters and BN running statistics alike.
    const stored = iresnetLayout(spec).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(report.files['weights.bin']).toBe(2 * stored);
  });

  it('needs exactly one PATH and reports a missing checkpoint as a GabnError', async () => {
    await expect(run([])).rejects.toThrow(GabnError);
    await expect(run([path.join(root, 'missing.gabn')])).rejects.toThrow(/no such checkpoint/);
  });
});
