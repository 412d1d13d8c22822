/**
 * The 'group-averages' job: over up to `limit` images per group, the average face, the average
 * attention map and the attention statistics of each group (the paper's Fig. 1b and 5), written as
 * PNGs into the run directory for the Browse view.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GroupAveragesResult, JobParams } from '../../api/contract.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import { loadEngine } from '../../engine/index.ts';
import { defaultEraseFor } from '../../gabn/masks.ts';
import { loadEmbedder } from '../../models/embedder.ts';
import { displayScale, encodePng, scaledToMaximum } from '../../report/figures/attention-figures.ts';
import { colorizeMap } from '../../report/figures/colormap.ts';
import { toEstimate } from '../../report/report-model.ts';
import { extractAttention } from '../../usecases/attention/attention-over-dataset.ts';
import type { JobContext } from '../protocol.ts';

export async function runGroupAveragesJob(
  params: JobParams['group-averages'],
  context: JobContext,
): Promise<GroupAveragesResult> {
  const engine = await loadEngine();
  context.log(`backend ${engine.backend} (${engine.choice.why})`);
  const dataset = loadDataset(params.datasetPath);
  const embedder = await loadEmbedder(params.checkpointPath);
  try {
    context.log(
      `${embedder.architecture}: up to ${params.limit} images per group of ${dataset.groups.join(', ')}`,
    );
    const result = await extractAttention(embedder, dataset, {
      limit: params.limit,
      ...(params.method === undefined ? {} : { method: params.method }),
      erase: defaultEraseFor(embedder.inputSize),
      seed: params.seed,
      signal: context.signal,
      onProgress: (done, total) => context.progress(done, total, 'attention maps'),
    });
    const groups: GroupAveragesResult['groups'] = [];
    for (const g of result.groups) {
      const shown = scaledToMaximum(g.averageMap);
      const face = `average-face-${g.group}.png`;
      const map = `average-map-${g.group}.png`;
      const scale = displayScale(result.inputSize);
      writeFileSync(path.join(context.runDir, face), await encodePng(g.averageFace, scale));
      writeFileSync(
        path.join(context.runDir, map),
        await encodePng(
          { width: result.inputSize, height: result.inputSize, pixels: colorizeMap(shown, 'inferno') },
          scale,
        ),
      );
      groups.push({
        group: g.group,
        images: g.images,
        empty: g.empty,
        massFraction: toEstimate(g.massFraction.mean, g.massFraction.interval),
        entropy: toEstimate(g.entropy.mean, g.entropy.interval),
        ...(g.lattice
          ? {
              lattice: {
                share: toEstimate(g.lattice.share.mean, g.lattice.share.interval),
                area: g.lattice.area,
              },
            }
          : {}),
        averageFace: face,
        averageMap: map,
      });
      context.log(
        `${g.group}: ${g.images} images, half the attention on ${Number.isFinite(g.massFraction.mean) ? `${(100 * g.massFraction.mean).toFixed(1)}%` : 'none'} of the pixels`,
      );
    }
    return { method: result.method, inputSize: result.inputSize, groups, failed: result.failed };
  } finally {
    embedder.dispose();
  }
}
