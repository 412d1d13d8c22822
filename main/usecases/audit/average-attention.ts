/**
 * The average face and average gradient attention map of each group under a checkpoint, as the
 * HTML/PDF report shows them (the paper's Fig. 5), from the first images of each group.
 */
import type { Dataset } from '../../data/dataset.ts';
import { defaultEraseFor } from '../../gabn/masks.ts';
import { loadEmbedder } from '../../models/embedder.ts';
import { averageAttentionPng, displayScale, encodePng } from '../../report/figures/attention-figures.ts';
import type { GroupAttentionFigure, HtmlOptions } from '../../report/html.ts';
import { toEstimate } from '../../report/report-model.ts';
import { extractAttention } from '../attention/attention-over-dataset.ts';

/** Per group: the average face (left out with noFaces) and the average attention map, as PNG bytes. */
export type AttentionFigures = NonNullable<HtmlOptions['attention']>;

export async function averageAttentionFigures(
  checkpoint: string,
  dataset: Dataset,
  perGroup: number,
  noFaces: boolean,
  hooks: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<AttentionFigures> {
  const embedder = await loadEmbedder(checkpoint);
  try {
    const result = await extractAttention(embedder, dataset, {
      limit: perGroup,
      erase: defaultEraseFor(embedder.inputSize),
      seed: 1,
      ...(hooks.signal ? { signal: hooks.signal } : {}),
      ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    });
    const scale = displayScale(embedder.inputSize);
    const out: GroupAttentionFigure[] = [];
    for (const g of result.groups) {
      const drawn = (noFacesUnder: boolean) =>
        averageAttentionPng(g.averageFace, g.averageMap, {
          colormap: 'inferno',
          noFaces: noFacesUnder,
          scale,
        });
      // Drawn over the face, the map shows the face too: the grey one is what a report without faces holds.
      const averageGamOnGreyPng = await drawn(true);
      const lattice = g.lattice
        ? {
            lattice: {
              share: toEstimate(g.lattice.share.mean, g.lattice.share.interval),
              area: g.lattice.area,
            },
          }
        : {};
      out.push(
        noFaces
          ? { group: g.group, averageGamPng: averageGamOnGreyPng, ...lattice }
          : {
              group: g.group,
              averageFacePng: await encodePng(g.averageFace, scale),
              averageGamPng: await drawn(false),
              averageGamOnGreyPng,
              ...lattice,
            },
      );
    }
    return out;
  } finally {
    embedder.dispose();
  }
}
