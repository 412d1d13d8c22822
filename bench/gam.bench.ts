/**
 * Seconds per image of the GAM (Eq. 1-2: eval-mode forward, gradient of T with respect to the image,
 * max over channels) on iResNet-18 at 112 pixels and on the small configuration, on the engine's
 * backend, with the PyTorch reference (CPU, 2 threads) timed in the same run.
 */
import { loadEngine, tf } from '../main/engine/index.ts';
import { computeAttribution } from '../main/gabn/attribution.ts';
import { createIResNet, createMarginHead, forward, iresnetSpec } from '../main/models/index.ts';
import { formatSeconds, runTorchReference, timeIt } from './timing.ts';

const CONFIGS = [
  {
    name: 'iresnet18 @112',
    depth: 18,
    width: 1,
    inputSize: 112,
    embeddingSize: 512,
    classes: 1000,
    batch: 4,
  },
  {
    name: 'iresnet18-w0.5 @56 (small)',
    depth: 18,
    width: 0.5,
    inputSize: 56,
    embeddingSize: 256,
    classes: 1000,
    batch: 8,
  },
] as const;

const engine = await loadEngine();
const ours: number[] = [];
for (const c of CONFIGS) {
  const model = createIResNet(iresnetSpec(c), 1);
  const head = createMarginHead(c.embeddingSize, c.classes, 2);
  const attributionModel = {
    embed: (x: tf.Tensor4D) => forward(model, x, { training: false }),
    head: { weight: head.params.weight as tf.Tensor2D },
  };
  const x = tf.randomNormal([c.batch, c.inputSize, c.inputSize, 3]) as tf.Tensor4D;
  ours.push(
    (await timeIt(async () => void (await computeAttribution('gam', attributionModel, x)), 3)) / c.batch,
  );
}
const torch = runTorchReference('bench/torch/gam.py', [JSON.stringify(CONFIGS)]);
console.log(`GAM per image, ${engine.backend} backend (median of 3 batches after a warm-up)`);
console.log('configuration                  | GABN Studio | PyTorch CPU | ratio');
CONFIGS.forEach((c, i) => {
  const ref = torch.ok ? torch.results[c.name] : undefined;
  console.log(
    `${c.name.padEnd(30)} | ${formatSeconds(ours[i]!).padEnd(11)} | ${(ref === undefined ? 'n/a' : formatSeconds(ref)).padEnd(11)} | ${ref === undefined ? 'n/a' : `${(ours[i]! / ref).toFixed(1)}x`}`,
  );
});
if (!torch.ok) console.log(`PyTorch reference not measured: ${torch.reason}`);
