/**
 * `gabn checkpoint export`: the face network and head kept, the training state dropped; float16
 * storage within float16's rounding, and a tensor beyond float16's range kept in float32.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { readCheckpoint, saveCheckpoint } from '../../../main/models/checkpoint.ts';
import {
  createDiscriminator,
  createIResNet,
  createMarginHead,
  iresnetSpec,
} from '../../../main/models/index.ts';

let dir: string;
let source: string;

beforeAll(async () => {
  await loadEngine({ backend: 'cpu' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-export-'));
  const model = createIResNet(iresnetSpec({ depth: 18, width: 0.125, inputSize: 32, embeddingSize: 16 }), 3);
  // A running variance beyond float16's range (as trained batch norms can have).
  model.params['layer1.0.bn3.running_var']!.assign(
    tf.fill(model.params['layer1.0.bn3.running_var']!.shape, 70_000),
  );
  source = path.join(dir, 'run.gabn');
  await saveCheckpoint(source, {
    model,
    groups: ['a', 'b'],
    classCount: 6,
    head: createMarginHead(16, 6, 4),
    discriminator: createDiscriminator(2, { width: 0.125 }, 5),
    optimizer: {
      state: { kind: 'sgd' },
      tensors: { 'face/conv1.weight': tf.ones(model.params['conv1.weight']!.shape) },
    },
    provenance: { metrics: { validation: { average: 70 } } },
  });
});

describe('gabn checkpoint export', () => {
  it('keeps the network and head, drops the training state, and stores float16 where it fits', async () => {
    const out = path.join(dir, 'shipped.gabn');
    const run = spawnSync(
      process.execPath,
      ['bin/gabn.js', 'checkpoint', 'export', source, '--out', out, '--float16'],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('float16, with its head');
    const original = await readCheckpoint(source);
    const exported = await readCheckpoint(out);
    expect(exported.discriminator).toBeUndefined();
    expect(exported.optimizer).toBeUndefined();
    expect(exported.json.provenance.metrics).toEqual({ validation: { average: 70 } });
    expect(exported.json.provenance.data).toEqual({ exportedFrom: source });
    const quantized = new Map(
      exported.json.weights[0]!.weights.map((w) => [w.name, w.quantization?.dtype ?? 'float32']),
    );
    expect(quantized.get('conv1.weight')).toBe('float16');
    expect(quantized.get('layer1.0.bn3.running_var')).toBe('float32');
    expect(exported.weights.get('layer1.0.bn3.running_var')!.every((v) => v === 70_000)).toBe(true);
    for (const [name, values] of original.weights) {
      const copy = exported.weights.get(name)!;
      for (let i = 0; i < values.length; i++) {
        expect(Math.abs(copy[i]! - values[i]!)).toBeLessThanOrEqual(Math.abs(values[i]!) * 2 ** -11 + 1e-7);
      }
    }
    const head = original.head!.get('weight')!;
    const exportedHead = exported.head!.get('weight')!;
    for (let i = 0; i < head.length; i++) {
      expect(Math.abs(exportedHead[i]! - head[i]!)).toBeLessThanOrEqual(Math.abs(head[i]!) * 2 ** -11 + 1e-7);
    }
  });
});
