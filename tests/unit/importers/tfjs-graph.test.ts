/**
 * TensorFlow.js graph models as embedders, on a graph written here by hand (Placeholder → Conv2D →
 * Relu → Mean): the import reads its input size and embedding size, the checkpoint embeds as the same
 * ops computed directly on the converted input, its pair GAM runs through the graph, it is not
 * trainable (and says so), and an op tfjs does not run is named with its node.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { computeAttribution, methodsFor } from '../../../main/gabn/attribution.ts';
import { loadCheckpoint } from '../../../main/models/checkpoint.ts';
import { loadEmbedder } from '../../../main/models/embedder.ts';
import { importModel } from '../../../main/usecases/import/import-model.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gabn-graph-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FILTER = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.sin(i * 1.7) * 0.5);
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A graph model folder: model.json and one shard holding the filter and the reduction axes. */
function writeGraph(name: string, activation = 'Relu'): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const dim = (sizes: number[]) => ({ dim: sizes.map((s) => ({ size: String(s) })) });
  const model = {
    format: 'graph-model',
    generatedBy: 'hand',
    convertedBy: 'hand',
    modelTopology: {
      node: [
        {
          name: 'images',
          op: 'Placeholder',
          attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dim([-1, 8, 8, 3]) } },
        },
        {
          name: 'filter',
          op: 'Const',
          attr: {
            dtype: { type: 'DT_FLOAT' },
            value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dim([3, 3, 3, 4]) } },
          },
        },
        {
          name: 'axes',
          op: 'Const',
          attr: {
            dtype: { type: 'DT_INT32' },
            value: { tensor: { dtype: 'DT_INT32', tensorShape: dim([2]) } },
          },
        },
        {
          name: 'conv',
          op: 'Conv2D',
          input: ['images', 'filter'],
          attr: {
            T: { type: 'DT_FLOAT' },
            strides: { list: { i: ['1', '1', '1', '1'] } },
            dilations: { list: { i: ['1', '1', '1', '1'] } },
            padding: { s: b64('SAME') },
            data_format: { s: b64('NHWC') },
          },
        },
        { name: 'act', op: activation, input: ['conv'], attr: { T: { type: 'DT_FLOAT' } } },
        {
          name: 'embedding',
          op: 'Mean',
          input: ['act', 'axes'],
          attr: { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } },
        },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'filter', shape: [3, 3, 3, 4], dtype: 'float32' },
          { name: 'axes', shape: [2], dtype: 'int32' },
        ],
      },
    ],
  };
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(model));
  const axes = Int32Array.from([1, 2]);
  writeFileSync(
    path.join(dir, 'weights.bin'),
    Buffer.concat([Buffer.from(FILTER.buffer), Buffer.from(axes.buffer)]),
  );
  return path.join(dir, 'model.json');
}

describe('a TensorFlow.js graph model as an embedder', () => {
  it('imports, embeds as the same ops on the converted input, and gives pair GAMs only', async () => {
    await loadEngine({ backend: 'cpu' });
    const out = path.join(tmp, 'tiny.gabn');
    const outcome = await importModel({
      format: 'tfjs-graph',
      source: writeGraph('tiny'),
      out,
      normalisation: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], colour: 'BGR' },
    });
    expect(outcome).toMatchObject({
      family: 'tfjs-graph',
      inputSize: 8,
      embeddingSize: 4,
      parameterCount: 108,
      trainable: false,
    });
    expect(outcome.notes.join(' ')).toMatch(/not trainable/);
    const embedder = await loadEmbedder(out);
    try {
      const x = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
      const got = tf.tidy(() => embedder.model.embed(x)).dataSync();
      // By hand: p = 128·x + 127.5, BGR, (p − 127.5) / 127.5, then the graph's ops.
      const expected = tf
        .tidy(() => {
          const input = tf.div(
            tf.sub(tf.add(tf.mul(tf.reverse(x, 3), 128), 127.5), 127.5),
            127.5,
          ) as tf.Tensor4D;
          return tf.mean(tf.relu(tf.conv2d(input, tf.tensor4d(FILTER, [3, 3, 3, 4]), 1, 'same')), [1, 2]);
        })
        .dataSync();
      for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 5);
      expect(embedder.model.head).toBeUndefined();
      expect(embedder.model.stages).toBeUndefined();
      expect(methodsFor({ head: false, stages: false, partner: true })).toEqual(['pair-gam']);
      const partner = tf.reverse(
        tf.tidy(() => embedder.model.embed(x)),
        0,
      ) as tf.Tensor2D;
      const maps = await computeAttribution('pair-gam', embedder.model, x, { partnerEmbeddings: partner });
      expect(maps.rawMax.every((m) => m > 0)).toBe(true);
    } finally {
      embedder.dispose();
    }
    const refused = await loadCheckpoint(out).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(GabnError);
    expect((refused as GabnError).message).toMatch(/audits but cannot train/);
  });

  it('an op TensorFlow.js does not run is named with its node', async () => {
    await loadEngine({ backend: 'cpu' });
    const error = await importModel({
      format: 'tfjs-graph',
      source: writeGraph('odd', 'Softsign2'),
      out: path.join(tmp, 'odd.gabn'),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GabnError);
    expect((error as GabnError).message).toMatch(/node 'act' \(op Softsign2\)/);
  });

  it('a shard shorter than the manifest says is refused', async () => {
    const source = writeGraph('short');
    writeFileSync(path.join(path.dirname(source), 'weights.bin'), Buffer.alloc(20));
    const error = await importModel({ format: 'tfjs-graph', source, out: path.join(tmp, 'short.gabn') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as GabnError).message).toMatch(/weights\.bin is 20 bytes, the manifest describes 440/);
  });
});
