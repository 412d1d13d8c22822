/**
 * The audit's throughput on the demo workspace (the synthetic test set, the demo baseline), with the
 * PyTorch/NumPy reference (bench/torch/audit.py) timed in the same run:
 *   1. images/s embedded (each image and its mirror, decoded and aligned), no cache;
 *   2. end-to-end seconds of `gabn audit`'s use case on the demo test set, cold (no embedding cache),
 *      the default 1000 bootstrap resamples, with the time of each phase;
 *   3. in the app (gabn serve, Debian's Chromium): the time from clicking Run to the first figure on
 *      screen (the point estimates, shown while the bootstrap runs) and to the whole report, cold
 *      and with the embeddings cached.
 */
import { accessSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { HEADLESS_CHROMIUM_ARGS } from '../main/base/host-programs.ts';
import { ensureRendererBuilt } from '../main/cli/renderer-build.ts';
import { loadDataset } from '../main/data/load-dataset.ts';
import { loadEngine } from '../main/engine/index.ts';
import { embedImages } from '../main/eval/embeddings.ts';
import { loadEmbedder } from '../main/models/embedder.ts';
import { runAudit } from '../main/usecases/audit/run-audit.ts';
import { demoCheckpoints, demoLayout } from '../main/usecases/workspace/demo-workspace.ts';
import { benchWorkspace, startServe } from './app-host.ts';
import { runTorchReference, tableLines } from './timing.ts';

const CHROMIUM = '/usr/bin/chromium';
const RESAMPLES = 1000;
const s = (v: number) => `${v.toFixed(1)} s`;
const now = () => performance.now() / 1000;

const workspace = await benchWorkspace();
const layout = demoLayout(workspace);
const checkpoint = demoCheckpoints(layout)[0]!;
const data = path.join(layout.data, 'rfw');
const dataset = loadDataset(data);
const used = [...new Set(dataset.pairs.flatMap((p) => [p.a, p.b]))].sort((a, b) => a - b);
const engine = await loadEngine();
console.log(
  `workspace ${workspace}; ${path.basename(checkpoint)} on ${used.length} images, ${dataset.pairs.length} pairs; backend ${engine.backend}`,
);
const rows: string[][] = [];
const notes: string[] = [];

// 1. Embedding throughput, no cache: once to warm the kernels up, then timed.
const embedder = await loadEmbedder(checkpoint);
await embedImages(embedder, checkpoint, dataset.images, used.slice(0, 16), { cacheDir: null });
let start = now();
await embedImages(embedder, checkpoint, dataset.images, used, { cacheDir: null });
const embedSeconds = now() - start;
embedder.dispose();
rows.push([
  'images/s embedded (image + mirror, decoded and aligned)',
  `${(used.length / embedSeconds).toFixed(1)}`,
  s(embedSeconds),
]);

// 2. The audit end to end, cold: a fresh embedding cache.
process.env.GABN_CACHE_DIR = mkdtempSync(path.join(os.tmpdir(), 'gabn-bench-audit-cache-'));
const phases = new Map<string, { first: number; last: number }>();
const note = (phase: string) => {
  const t = now();
  const known = phases.get(phase);
  if (known) known.last = t;
  else phases.set(phase, { first: t, last: t });
};
start = now();
const outcome = await runAudit(
  {
    checkpoints: [checkpoint],
    data,
    bootstrap: RESAMPLES,
    out: [path.join(mkdtempSync(path.join(os.tmpdir(), 'gabn-bench-audit-')), 'audit.json')],
    commandLine: ['gabn', 'audit'],
  },
  { onProgress: (phase) => note(phase) },
);
const auditSeconds = now() - start;
rows.push([`audit end to end, demo test set, ${RESAMPLES} resamples, cold`, '', s(auditSeconds)]);
const ordered = [...phases.entries()];
ordered.forEach(([phase, t], k) => {
  const end = ordered[k + 1]?.[1].first ?? start + auditSeconds;
  rows.push([`  ${phase}`, '', s(end - t.first)]);
});
notes.push(
  `accuracies ${outcome.reports[0]!.groups.map((g) => `${g.name} ${g.accuracy.value?.toFixed(2)}`).join(', ')}`,
);

// The reference: the same network shape, the same pairs and folds, the same resamples.
const architecture = JSON.parse(readFileSync(path.join(checkpoint, 'checkpoint.json'), 'utf8'))
  .architecture as {
  depth: number;
  width: number;
  inputSize: number;
  embeddingSize: number;
};
const index = new Map(used.map((image, k) => [image, k]));
const groups = dataset.groups.map((group) => {
  const pairs = dataset.pairs.filter((p) => p.group === group);
  return {
    a: pairs.map((p) => index.get(p.a)),
    b: pairs.map((p) => index.get(p.b)),
    same: pairs.map((p) => (p.same ? 1 : 0)),
    fold: pairs.map((p) => p.fold),
  };
});
const specFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'gabn-bench-audit-spec-')), 'spec.json');
writeFileSync(
  specFile,
  JSON.stringify({ ...architecture, images: used.length, resamples: RESAMPLES, groups }),
);
for (const threads of [2, 1]) {
  const torch = runTorchReference('bench/torch/audit.py', [specFile, String(threads)]);
  if (!torch.ok) {
    notes.push(`PyTorch reference (${threads} threads) not measured: ${torch.reason}`);
    continue;
  }
  const r = torch.results;
  rows.push(
    [
      `PyTorch reference, ${threads} thread${threads > 1 ? 's' : ''}: images/s embedded (random tensors)`,
      r.imagesPerSecond!.toFixed(1),
      s(r.embedSeconds!),
    ],
    [`  reference end to end (embedding + 10-fold + ${RESAMPLES} resamples, NumPy)`, '', s(r.totalSeconds!)],
    ['    its protocol / its bootstrap', '', `${s(r.protocolSeconds!)} / ${s(r.bootstrapSeconds!)}`],
  );
}

// 3. Click Run → the first figure, in the app.
let chromiumThere = true;
try {
  accessSync(CHROMIUM);
} catch {
  chromiumThere = false;
  notes.push(`the app's time to the first figure not measured: ${CHROMIUM} is absent`);
}
if (chromiumThere) {
  await ensureRendererBuilt((line) => console.log(line));
  const host = await startServe(workspace, {
    ...process.env,
    GABN_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'gabn-bench-audit-app-cache-')),
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: HEADLESS_CHROMIUM_ARGS });
  try {
    const page: Page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(host.url);
    await page.waitForSelector(`[data-testid="checkpoint-item"] >> text=${path.basename(checkpoint)}`, {
      timeout: 60_000,
    });
    await page.click('[data-testid="nav-audit"]');
    await page.waitForSelector(`[data-testid="audit-checkpoint-${path.basename(checkpoint)}"]:checked`);
    for (const cache of ['cold', 'embeddings cached']) {
      const clicked = now();
      await page.click('[data-testid="audit-run"]');
      // The result of the run before goes as soon as the new audit has started.
      await page.waitForSelector('[data-testid="audit-result"]', { state: 'detached', timeout: 60_000 });
      await page.waitForSelector('[data-testid="accuracy-chart"] canvas', { timeout: 600_000 });
      const first = now() - clicked;
      await page.waitForSelector('[data-testid="audit-result"]:not(:has([data-testid="preliminary"]))', {
        timeout: 600_000,
      });
      await page.waitForSelector('[data-testid="audit-progress"]', { state: 'detached', timeout: 600_000 });
      const whole = now() - clicked;
      rows.push(
        [`app, ${cache}: click Run -> first figure on screen`, '', s(first)],
        [`app, ${cache}: click Run -> whole report shown`, '', s(whole)],
      );
    }
  } finally {
    await browser.close();
    host.stop();
  }
}

console.log(
  `\nThe audit on the demo test set (${os.cpus().length} cores, a shared machine: figures vary between runs)`,
);
for (const l of tableLines(['measurement', 'images/s', 'time'], rows)) console.log(l);
console.log(
  'The project decodes and aligns each JPEG before embedding; the reference embeds random tensors of the same size. ' +
    'Its protocol and bootstrap are NumPy over the same pairs, folds and strata.',
);
for (const n of notes) console.log(n);
