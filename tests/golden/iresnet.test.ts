/**
 * The iResNet, the margin head and the GAM discriminator against the PyTorch reference
 * (tests/golden/iresnet.py, fixture tests/golden/fixtures/iresnet.json), on the cpu and wasm backends.
 *
 * Tolerances: every check is max|tfjs - torch| ≤ rtol · max|torch| over the tensor. Both sides compute
 * in float32 but sum in different orders (im2col/XNNPACK against oneDNN), so each op adds a few ulps,
 * and ~20 convolutions with batch norms that divide by per-batch deviations (BN1d over a batch of 2)
 * grow that. Measured: eval embeddings ~1e-6, first-order gradients up to 8e-5, second-order
 * gradients 1.2e-4 (cpu) and 1.5e-4 (wasm). Hence rtol 1e-4 for forward values, 1e-3 for gradients,
 * 1e-2 for gradients of the GAM (s = 64 makes the softmax steep, and the error is the same relative
 * factor on every tensor). The training embedding leaves BN1d over a batch of 2, which divides each
 * feature by |a − b| / 2 and so magnifies whatever rounding came before: 3.5e-5 on cpu, 4e-5 on wasm
 * with the stock reductions and 1.05e-4 with the pooled ones (whose sums are as close to float64 as
 * the stock's, 1.5e-6 to 3.5e-6 relative): rtol 3e-4 for it alone. A wrong layout or formula is O(1).
 * Gradients whose exact value is zero (a shift cancelled by a training-mode BN after it, such as
 * fc.bias before `features`) are not compared: they are float noise on both sides.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../main/engine/index.ts';
import { softmaxCrossEntropy } from '../../main/engine/ops.ts';
import {
  discriminatorForward,
  discriminatorLayout,
  discriminatorParameterCount,
  discriminatorSpec,
} from '../../main/models/discriminator.ts';
import { forward, iresnetLayout, iresnetParameterCount } from '../../main/models/iresnet.ts';
import { disposeFolded, foldBatchNorm, foldedForward } from '../../main/models/iresnet-folded.ts';
import { iresnetSpec, parseSpecName } from '../../main/models/iresnet-spec.ts';
import { cosines, marginLogits, scaledLogits } from '../../main/models/margin-head.ts';
import {
  disposeParams,
  type ParamMap,
  paramsFromValues,
  type TensorLayout,
} from '../../main/models/parameters.ts';

interface EncodedTensor {
  readonly shape: number[];
  readonly data: string;
}
type Encoded = Record<string, EncodedTensor>;

interface Fixture {
  config: {
    depth: number;
    width: number;
    inputSize: number;
    embeddingSize: number;
    classes: number;
    s: number;
    m: number;
  };
  params: Encoded;
  input: EncodedTensor;
  labels: number[];
  head: EncodedTensor;
  evalEmbedding: EncodedTensor;
  trainEmbedding: EncodedTensor;
  runningStatsAfterTraining: Encoded;
  cosines: EncodedTensor;
  arcfaceLogits: EncodedTensor;
  cosfaceLogits: EncodedTensor;
  loss: number;
  gradients: Encoded;
  gam: { s: number; R: EncodedTensor; T: number; gam: EncodedTensor; objective: number; gradients: Encoded };
  margin: {
    cos: EncodedTensor;
    labels: number[];
    arcface: EncodedTensor;
    cosface: EncodedTensor;
    arcfaceM05: EncodedTensor;
  };
  discriminator: {
    config: { groups: number; width: number; inputSize: number };
    params: Encoded;
    input: EncodedTensor;
    evalLogits: EncodedTensor;
    trainLogits: EncodedTensor;
    labels: number[];
    loss: number;
    inputGradient: EncodedTensor;
    runningStatsAfterTraining: Encoded;
  };
  parameterCounts: Record<string, number>;
  discriminatorParameterCounts: Record<string, number>;
}

const fixture = JSON.parse(
  readFileSync(path.join(import.meta.dirname, 'fixtures', 'iresnet.json'), 'utf8'),
) as Fixture;

const FORWARD_RTOL = 1e-4;
const TRAINING_EMBEDDING_RTOL = 3e-4;
const GRADIENT_RTOL = 1e-3;
const SECOND_ORDER_RTOL = 1e-2;

function values(t: EncodedTensor): Float32Array {
  const bytes = Buffer.from(t.data, 'base64');
  const out = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  expect(out.length).toBe(t.shape.reduce((a, b) => a * b, 1));
  return out;
}

function tensor(t: EncodedTensor): tf.Tensor {
  return tf.tensor(values(t), t.shape, 'float32');
}

/** Asserts max|actual - expected| ≤ rtol · max|expected| and reports both figures on failure. */
function expectClose(what: string, actual: ArrayLike<number>, expected: EncodedTensor, rtol: number): void {
  const want = values(expected);
  expect(actual.length, what).toBe(want.length);
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(actual[i]! - want[i]!);
    maxDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxDiff, d);
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  expect(
    maxDiff,
    `${what}: max |diff| ${maxDiff.toExponential(2)} vs scale ${scale.toExponential(2)}`,
  ).toBeLessThanOrEqual(rtol * scale);
}

/** The fixture's state_dict must name and shape exactly the tensors of our layout, in the same order. */
function loadParams(layout: TensorLayout[], encoded: Encoded): ParamMap {
  expect(Object.keys(encoded)).toEqual(layout.map((t) => t.name));
  for (const t of layout) expect(encoded[t.name]!.shape, t.name).toEqual([...t.shape]);
  return paramsFromValues(layout, new Map(layout.map((t) => [t.name, values(encoded[t.name]!)])));
}

const c = fixture.config;
const spec = iresnetSpec({
  depth: c.depth,
  width: c.width,
  inputSize: c.inputSize,
  embeddingSize: c.embeddingSize,
});
const margin = { kind: 'arcface' as const, s: c.s, m: c.m };

describe('parameter counts equal PyTorch', () => {
  it('iresnet 18/34/50/100 and small configurations', () => {
    for (const [name, count] of Object.entries(fixture.parameterCounts)) {
      expect(iresnetParameterCount(parseSpecName(name)), name).toBe(count);
    }
    expect(fixture.parameterCounts.iresnet100).toBeGreaterThan(65e6);
  });
  it('ResNet-18 discriminators', () => {
    const specs: Record<string, [number, number]> = {
      'resnet18-g4': [4, 1],
      'resnet18-g2-w0.25': [2, 0.25],
      'resnet18-g4-w0.0625': [4, 0.0625],
    };
    for (const [name, [groups, width]] of Object.entries(specs)) {
      expect(discriminatorParameterCount(discriminatorSpec(groups, width)), name).toBe(
        fixture.discriminatorParameterCounts[name],
      );
    }
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`golden iResNet on ${backend}`, () => {
    it('eval forward, folded forward, training forward with running statistics, margin logits, loss and gradients', async () => {
      await loadEngine({ backend });
      expect(tf.getBackend()).toBe(backend);
      const params = loadParams(iresnetLayout(spec), fixture.params);
      const model = { spec, params };
      const x = tensor(fixture.input) as tf.Tensor4D;

      const evalEmbedding = tf.tidy(() => forward(model, x, { training: false }));
      expectClose('eval embedding', evalEmbedding.dataSync(), fixture.evalEmbedding, FORWARD_RTOL);
      const folded = foldBatchNorm(model);
      const foldedEmbedding = tf.tidy(() => foldedForward(folded, x));
      expectClose('folded embedding', foldedEmbedding.dataSync(), fixture.evalEmbedding, FORWARD_RTOL);
      disposeFolded(folded);

      const head = {
        embeddingSize: c.embeddingSize,
        classes: c.classes,
        params: { weight: tf.variable(tensor(fixture.head)) },
      };
      const input = tf.variable(x);
      const labels = tf.tensor1d(fixture.labels, 'int32');
      const captured: Record<string, tf.Tensor> = {};
      // Only the compared tensors: filter gradients of the others would only cost time on cpu.
      const compared = Object.keys(fixture.gradients).filter((n) => n !== 'input' && n !== 'head.weight');
      const trainable = [input, head.params.weight, ...compared.map((n) => params[n]!)];
      const { value, grads } = tf.variableGrads(() => {
        const embedding = forward(model, input as tf.Variable<tf.Rank.R4>, { training: true });
        const cos = cosines(head, embedding);
        const arc = marginLogits(cos, labels, margin);
        captured.embedding = tf.keep(embedding);
        captured.cos = tf.keep(cos);
        captured.arc = tf.keep(arc);
        captured.cosface = tf.keep(marginLogits(cos, labels, { ...margin, kind: 'cosface' }));
        return softmaxCrossEntropy(arc, labels) as tf.Scalar;
      }, trainable);
      expectClose(
        'training embedding',
        captured.embedding!.dataSync(),
        fixture.trainEmbedding,
        TRAINING_EMBEDDING_RTOL,
      );
      expectClose('cosines', captured.cos!.dataSync(), fixture.cosines, FORWARD_RTOL);
      expectClose('ArcFace logits', captured.arc!.dataSync(), fixture.arcfaceLogits, FORWARD_RTOL);
      expectClose('CosFace logits', captured.cosface!.dataSync(), fixture.cosfaceLogits, FORWARD_RTOL);
      expect(Math.abs(value.dataSync()[0]! - fixture.loss)).toBeLessThanOrEqual(FORWARD_RTOL * fixture.loss);
      for (const [name, stats] of Object.entries(fixture.runningStatsAfterTraining)) {
        expectClose(`${name} after one training step`, params[name]!.dataSync(), stats, FORWARD_RTOL);
      }
      expect(params['features.weight']!.trainable).toBe(false);
      expect(grads[params['features.weight']!.name]).toBeUndefined();
      for (const [name, expected] of Object.entries(fixture.gradients)) {
        const variable =
          name === 'input' ? input : name === 'head.weight' ? head.params.weight : params[name]!;
        expectClose(`d loss / d ${name}`, grads[variable.name]!.dataSync(), expected, GRADIENT_RTOL);
      }
      tf.dispose([evalEmbedding, foldedEmbedding, value, input, labels, head.params.weight, x]);
      tf.dispose(Object.values(grads));
      tf.dispose(Object.values(captured));
      disposeParams(params);
    });

    it('exact double backprop through the network: d/dW of Σ GAM·R with GAM = max_c |dT/dx| (Eq. 1-2)', async () => {
      await loadEngine({ backend });
      const params = loadParams(iresnetLayout(spec), fixture.params);
      const model = { spec, params };
      const g = fixture.gam;
      const x = tensor(fixture.input) as tf.Tensor4D;
      const r = tensor(g.R);
      const head = {
        embeddingSize: c.embeddingSize,
        classes: c.classes,
        params: { weight: tf.variable(tensor(fixture.head)) },
      };
      let tValue = 0;
      let gamValues: Float32Array | undefined;
      const T = (input: tf.Tensor) => {
        const embedding = forward(model, input as tf.Tensor4D, { training: true, updateStats: false });
        const p = tf.softmax(scaledLogits(cosines(head, embedding), g.s));
        return tf.sum(tf.mean(tf.sub(tf.max(p, 1, true), p), 1)) as tf.Scalar;
      };
      const wanted = Object.keys(g.gradients);
      const variables = wanted.map((n) => (n === 'head.weight' ? head.params.weight : params[n]!));
      const { value, grads } = tf.variableGrads(() => {
        const { value: t, grad } = tf.valueAndGrad(T)(x);
        tValue = t.dataSync()[0]!;
        const gam = tf.max(tf.abs(grad), 3);
        gamValues = gam.dataSync() as Float32Array;
        return tf.sum(tf.mul(gam, r)) as tf.Scalar;
      }, variables);
      expect(Math.abs(tValue - g.T)).toBeLessThanOrEqual(FORWARD_RTOL * Math.abs(g.T));
      expectClose('GAM', gamValues!, g.gam, GRADIENT_RTOL);
      expect(Math.abs(value.dataSync()[0]! - g.objective)).toBeLessThanOrEqual(
        GRADIENT_RTOL * Math.abs(g.objective),
      );
      wanted.forEach((name, i) => {
        expectClose(
          `second order: d Σ GAM·R / d ${name}`,
          grads[variables[i]!.name]!.dataSync(),
          g.gradients[name]!,
          SECOND_ORDER_RTOL,
        );
      });
      tf.dispose([x, r, value, head.params.weight]);
      tf.dispose(Object.values(grads));
      disposeParams(params);
    });

    it('ArcFace fallback past π − m, label −1 rows and CosFace on hand-picked cosines', async () => {
      await loadEngine({ backend });
      const m = fixture.margin;
      const cos = tensor(m.cos) as tf.Tensor2D;
      const got = (options: Parameters<typeof marginLogits>[2]) =>
        tf.tidy(() => marginLogits(cos, m.labels, options).dataSync());
      // Hand-picked values are exact in float32: the only rounding is in cos, sin and the products.
      expectClose('ArcFace s=64 m=0.35', got({ kind: 'arcface', s: 64, m: 0.35 }), m.arcface, 1e-6);
      expectClose('ArcFace s=30 m=0.5', got({ kind: 'arcface', s: 30, m: 0.5 }), m.arcfaceM05, 1e-6);
      expectClose('CosFace s=64 m=0.35', got({ kind: 'cosface', s: 64, m: 0.35 }), m.cosface, 1e-6);
      cos.dispose();
    });

    it('GAM discriminator: eval and training logits, loss, gradient with respect to the GAM, running statistics', async () => {
      await loadEngine({ backend });
      const d = fixture.discriminator;
      const dspec = discriminatorSpec(d.config.groups, d.config.width);
      const params = loadParams(discriminatorLayout(dspec), d.params);
      const disc = { spec: dspec, params };
      const gam = tensor(d.input) as tf.Tensor4D;
      const evalLogits = tf.tidy(() => discriminatorForward(disc, gam, { training: false }));
      expectClose('discriminator eval logits', evalLogits.dataSync(), d.evalLogits, FORWARD_RTOL);
      const labels = tf.tensor1d(d.labels, 'int32');
      let trainLogits: tf.Tensor | undefined;
      const { value, grad } = tf.valueAndGrad((g: tf.Tensor) => {
        const logits = discriminatorForward(disc, g, { training: true });
        trainLogits = tf.keep(logits);
        return softmaxCrossEntropy(logits, labels) as tf.Scalar;
      })(gam);
      expectClose('discriminator training logits', trainLogits!.dataSync(), d.trainLogits, FORWARD_RTOL);
      expect(Math.abs(value.dataSync()[0]! - d.loss)).toBeLessThanOrEqual(FORWARD_RTOL * d.loss);
      expectClose('d loss / d GAM', grad.dataSync(), d.inputGradient, GRADIENT_RTOL);
      for (const [name, stats] of Object.entries(d.runningStatsAfterTraining)) {
        expectClose(`discriminator ${name}`, params[name]!.dataSync(), stats, FORWARD_RTOL);
      }
      tf.dispose([gam, evalLogits, labels, value, grad, trainLogits!]);
      disposeParams(params);
    });
  });
}
