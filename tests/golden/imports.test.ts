/**
 * Imported insightface iResNets against PyTorch (tests/golden/import_models.py, fixtures under
 * tests/golden/fixtures/imports/): iresnet18 and iresnet50 layouts at 112 pixels (width 1/16, so the
 * files stay small), each as a state dict (.pth), a fused state dict (batch norms folded by PyTorch),
 * an eval-mode ONNX export (folded) and an unfolded one, plus a graph with its own input normalisation
 * and a .safetensors file. Every file is imported and written as a checkpoint, read back as an
 * embedder, and its embeddings and pair GAMs are compared with PyTorch's, on cpu and wasm.
 *
 * Tolerance: max|ours − torch| ≤ 1e-4 · max|torch| over each tensor. Observed: embeddings 0.8e-6 to
 * 2.5e-6, pair GAMs 7e-6 to 2.1e-5, on both backends (float32 on both sides, summed in different
 * orders; the GAM is a gradient, so its error is larger).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../main/engine/index.ts';
import { pairGradientAttentionMap } from '../../main/gabn/pair-gam.ts';
import { loadEmbedder } from '../../main/models/embedder.ts';
import { importIResNet, writeImportedIResNet } from '../../main/models/importers/iresnet-import.ts';

const DIR = path.join(import.meta.dirname, 'fixtures', 'imports');
const RTOL = 1e-4;

interface Encoded {
  readonly shape: number[];
  readonly data: string;
}
interface Fixture {
  pixels: string;
  inputSize: number;
  models: Record<
    string,
    {
      depth: number;
      width: number;
      embeddingSize: number;
      parameterCount: number;
      files: Record<string, { batchNorm: 'folded' | 'unfolded'; references: string }>;
      references: Record<string, { embeddings: Encoded; pairGam: Encoded }>;
    }
  >;
}

const fixture = JSON.parse(readFileSync(path.join(DIR, 'imports.json'), 'utf8')) as Fixture;
const out = mkdtempSync(path.join(os.tmpdir(), 'gabn-golden-imports-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function decode(t: Encoded): Float32Array {
  const b = Buffer.from(t.data, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function relative(actual: ArrayLike<number>, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    diff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

/** The two test images in the project's normalisation, x = (p − 127.5) / 128. */
function images(): tf.Tensor4D {
  const pixels = Buffer.from(fixture.pixels, 'base64');
  const size = fixture.inputSize;
  return tf.tensor4d(
    Float32Array.from(pixels, (p) => (p - 127.5) / 128),
    [2, size, size, 3],
  );
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`imported iResNets equal PyTorch on ${backend}`, () => {
    for (const [name, model] of Object.entries(fixture.models)) {
      for (const [file, expected] of Object.entries(model.files)) {
        it(`${file} (${expected.batchNorm} batch norm)`, async () => {
          await loadEngine({ backend });
          const source = path.join(DIR, file);
          const imported = await importIResNet(source, file.endsWith('.onnx') ? 'onnx' : 'pytorch');
          expect(imported.spec).toMatchObject({
            depth: model.depth,
            width: model.width,
            inputSize: fixture.inputSize,
            embeddingSize: model.embeddingSize,
          });
          expect(imported.foldedBatchNorms.length > 0).toBe(expected.batchNorm === 'folded');
          const dir = path.join(out, `${backend}-${file}.gabn`);
          await writeImportedIResNet(dir, imported, { importer: 'golden test' });
          const embedder = await loadEmbedder(dir);
          try {
            expect(embedder.parameterCount).toBeGreaterThan(0);
            const json = embedder.json as { parameterCount: number; architecture: { name: string } };
            expect(json.parameterCount).toBe(model.parameterCount);
            expect(json.architecture.name).toBe(`${name}-e${model.embeddingSize}`);
            const reference = model.references[expected.references]!;
            const x = images();
            const e = tf.tidy(() => embedder.model.embed(x));
            const embeddingError = relative(await e.data(), decode(reference.embeddings));
            expect(embeddingError, `embeddings: ${embeddingError.toExponential(2)}`).toBeLessThanOrEqual(
              RTOL,
            );
            // Each image against the other, the partner held constant, as PyTorch computed it.
            const partner = tf.reverse(e, 0) as tf.Tensor2D;
            const gam = tf.tidy(() => pairGradientAttentionMap(embedder.model.embed, x, partner));
            const gamError = relative(await gam.data(), decode(reference.pairGam));
            expect(gamError, `pair GAM: ${gamError.toExponential(2)}`).toBeLessThanOrEqual(RTOL);
            tf.dispose([x, e, partner, gam]);
          } finally {
            embedder.dispose();
          }
        });
      }
    }
  });
}
