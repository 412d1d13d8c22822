import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { createPrng } from '../../../main/base/random.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { batchNorm } from '../../../main/models/batch-norm.ts';
import {
  createIResNet,
  disposeFolded,
  disposeParams,
  finalFeatureSize,
  foldBatchNorm,
  foldedForward,
  forward,
  iresnetParameterCount,
  iresnetSpec,
  parseSpecName,
  specName,
  trainableVariables,
} from '../../../main/models/index.ts';
import { iresnetLayout } from '../../../main/models/iresnet.ts';
import { batchNormLayout, createParams } from '../../../main/models/parameters.ts';

describe('iResNet specs', () => {
  it('names round-trip and the published networks keep insightface names', () => {
    for (const name of [
      'iresnet18',
      'iresnet34',
      'iresnet50',
      'iresnet100',
      'iresnet18-w0.25-56',
      'iresnet34-w0.5-56-e128',
    ]) {
      expect(specName(parseSpecName(name))).toBe(name);
    }
    expect(parseSpecName('iresnet18-w0.25-56')).toEqual({
      family: 'iresnet',
      depth: 18,
      width: 0.25,
      inputSize: 56,
      embeddingSize: 512,
    });
    expect(() => parseSpecName('iresnet19')).toThrow(GabnError);
    expect(() => parseSpecName('resnet50')).toThrow(/unknown architecture 'resnet50'/);
    expect(() => iresnetSpec({ depth: 18, width: 0 })).toThrow(/width 0/);
  });

  it('the FC input follows the stride pattern: 112 → 7×7, 56 → 4×4 (stem stride 1, four stride-2 stages, pad 1)', () => {
    expect(finalFeatureSize(iresnetSpec({ depth: 34 }))).toBe(7);
    expect(finalFeatureSize(iresnetSpec({ depth: 18, inputSize: 56 }))).toBe(4);
    const fc = (s: ReturnType<typeof iresnetSpec>) =>
      iresnetLayout(s).find((t) => t.name === 'fc.weight')!.shape;
    expect(fc(iresnetSpec({ depth: 50 }))).toEqual([512 * 7 * 7, 512]);
    expect(fc(iresnetSpec({ depth: 18, width: 0.25, inputSize: 56 }))).toEqual([128 * 4 * 4, 512]);
  });

  it('uses insightface state_dict names and marks only the frozen BN1d scale and the running statistics untrainable', () => {
    const layout = iresnetLayout(iresnetSpec({ depth: 34 }));
    const names = layout.map((t) => t.name);
    expect(names.slice(0, 6)).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
      'prelu.weight',
    ]);
    expect(names).toContain('layer1.0.downsample.0.weight');
    expect(names).toContain('layer3.5.bn3.bias');
    expect(names).not.toContain('layer3.6.bn3.bias');
    expect(names).not.toContain('layer1.1.downsample.0.weight');
    expect(names.slice(-6)).toEqual([
      'fc.weight',
      'fc.bias',
      'features.weight',
      'features.bias',
      'features.running_mean',
      'features.running_var',
    ]);
    const frozen = layout.filter((t) => !t.trainable && !t.buffer).map((t) => t.name);
    expect(frozen).toEqual(['features.weight']);
    // Parameters counted as PyTorch does: buffers out, the frozen scale in.
    const count = layout.filter((t) => !t.buffer).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(iresnetParameterCount(iresnetSpec({ depth: 34 }))).toBe(count);
  });
});

describe('iResNet on the cpu backend', () => {
  const spec = iresnetSpec({ depth: 18, width: 0.25, inputSize: 56, embeddingSize: 32 });

  it('initialises like PyTorch from a seed: kaiming-uniform bounds, BN 1/0, PReLU 0.25, reproducible', async () => {
    await loadEngine({ backend: 'cpu' });
    const a = createIResNet(spec, 11);
    const b = createIResNet(spec, 11);
    const c = createIResNet(spec, 12);
    const w = a.params['layer2.0.conv1.weight']!.dataSync() as Float32Array; // fan-in 16·9
    const bound = 1 / Math.sqrt(16 * 9);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    // U(-b, b) has variance b²/3: the sample of 4608 values is within 5%.
    const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
    expect(Math.abs(variance / ((bound * bound) / 3) - 1)).toBeLessThan(0.05);
    expect(Array.from(b.params['layer2.0.conv1.weight']!.dataSync())).toEqual(Array.from(w));
    expect(Array.from(c.params['layer2.0.conv1.weight']!.dataSync())).not.toEqual(Array.from(w));
    expect(new Set(a.params['layer1.0.prelu.weight']!.dataSync())).toEqual(new Set([0.25]));
    expect(new Set(a.params['layer1.0.bn2.weight']!.dataSync())).toEqual(new Set([1]));
    expect(new Set(a.params['features.weight']!.dataSync())).toEqual(new Set([1]));
    expect(trainableVariables(a.params)).not.toContain(a.params['features.weight']);
    for (const m of [a, b, c]) disposeParams(m.params);
  });

  it('training-mode batch norm normalises with batch statistics and moves running stats like PyTorch (momentum 0.1, unbiased)', async () => {
    await loadEngine({ backend: 'cpu' });
    const params = createParams(batchNormLayout('bn', 3), 0);
    const random = createPrng(4);
    const n = 2 * 5 * 5;
    const data = Float32Array.from({ length: n * 3 }, () => random.next() * 4 - 1);
    const x = tf.tensor4d(data, [2, 5, 5, 3]);
    const y = batchNorm(params, 'bn', x, { training: true }).dataSync();
    const mean = params['bn.running_mean']!.dataSync();
    const variance = params['bn.running_var']!.dataSync();
    for (let ch = 0; ch < 3; ch++) {
      const v = Array.from({ length: n }, (_, i) => data[i * 3 + ch]!);
      const mu = v.reduce((s, t) => s + t, 0) / n;
      const biased = v.reduce((s, t) => s + (t - mu) ** 2, 0) / n;
      expect(mean[ch]).toBeCloseTo(0.9 * 0 + 0.1 * mu, 6);
      expect(variance[ch]).toBeCloseTo(0.9 * 1 + 0.1 * biased * (n / (n - 1)), 6);
      expect(y[ch]).toBeCloseTo((data[ch]! - mu) / Math.sqrt(biased + 1e-5), 4);
    }
    // updateStats: false normalises the same way and leaves the estimates alone.
    const y2 = batchNorm(params, 'bn', x, { training: true, updateStats: false }).dataSync();
    expect(Array.from(y2)).toEqual(Array.from(y));
    expect(Array.from(params['bn.running_mean']!.dataSync())).toEqual(Array.from(mean));
    expect(() => batchNorm(params, 'bn', tf.ones([1, 1, 1, 3]), { training: true })).toThrow(
      /more than one value per channel/,
    );
    disposeParams(params);
  });

  it('gives [N, embeddingSize] in both modes; the folded network equals eval mode to ~1e-5', async () => {
    await loadEngine({ backend: 'cpu' });
    const model = createIResNet({ ...spec, width: 0.125 }, 3);
    const x = tf.randomNormal([3, 56, 56, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    // Non-trivial statistics and affine parameters, so that folding has something to fold.
    const random = createPrng(21);
    for (const [name, v] of Object.entries(model.params)) {
      if (
        /\.(weight|bias)$/.test(name) &&
        /bn|downsample\.1|features/.test(name) &&
        name !== 'features.weight'
      ) {
        v.assign(
          tf.tensor(
            Float32Array.from({ length: v.size }, () => 0.5 + random.next()),
            v.shape,
          ),
        );
      }
    }
    for (let i = 0; i < 3; i++) tf.tidy(() => forward(model, x, { training: true }));
    expect(model.params['layer3.1.bn2.running_mean']!.dataSync().some((v) => v !== 0)).toBe(true);
    const train = tf.tidy(() => forward(model, x, { training: true, updateStats: false }));
    expect(train.shape).toEqual([3, 32]);
    expect(() => forward(model, tf.zeros([1, 48, 48, 3]) as tf.Tensor4D, { training: false })).toThrow(
      /iresnet18-w0\.125-56-e32 takes faces of 56×56×3, got \[1, 48, 48, 3\]/,
    );
    const evalOut = tf.tidy(() => forward(model, x, { training: false }));
    const folded = foldBatchNorm(model);
    const foldedOut = tf.tidy(() => foldedForward(folded, x));
    const e = evalOut.dataSync();
    const f = foldedOut.dataSync();
    const scale = Math.max(...e.map(Math.abs));
    const diff = Math.max(...e.map((v, i) => Math.abs(v - f[i]!)));
    expect(scale).toBeGreaterThan(0.1);
    expect(diff / scale).toBeLessThan(1e-5);
    // Training and eval outputs differ (batch vs running statistics): the modes are really different.
    expect(Math.max(...train.dataSync().map((v, i) => Math.abs(v - e[i]!)))).toBeGreaterThan(1e-3);
    disposeFolded(folded);
    tf.dispose([x, train, evalOut, foldedOut]);
    disposeParams(model.params);
  });

  it('trains: one SGD step on a fixed batch lowers a loss, and gradients skip frozen tensors', async () => {
    await loadEngine({ backend: 'cpu' });
    const small = iresnetSpec({ depth: 18, width: 0.125, inputSize: 32, embeddingSize: 8 });
    const model = createIResNet(small, 5);
    const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const target = tf.randomNormal([4, 8], 0, 1, 'float32', 2);
    const vars = trainableVariables(model.params);
    const loss = () =>
      tf.mean(
        tf.square(tf.sub(forward(model, x, { training: true, updateStats: false }), target)),
      ) as tf.Scalar;
    const before = loss().dataSync()[0]!;
    const { grads } = tf.variableGrads(loss, vars);
    expect(Object.keys(grads)).not.toContain(model.params['features.weight']!.name);
    expect(Object.keys(grads)).toHaveLength(vars.length);
    for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.05)));
    const after = loss().dataSync()[0]!;
    expect(after).toBeLessThan(before);
    disposeParams(model.params);
  });
});
