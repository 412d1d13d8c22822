/**
 * The average face and average gradient attention map of each group under a checkpoint, as the
 * HTML/PDF report shows them (the paper's Fig. 5), from the first images of each group.
 */
import type { Dataset } from '../../data/dataset.ts';
import { defaultEraseFor } from '../../gabn/masks.ts';
import { loadEmbedder } from '../../models/embedder.ts';
import { attentionOverlayPng, encodePng, type RgbImage } from '../../report/figures/attention-figures.ts';
import type { HtmlOptions } from '../../report/html.ts';
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
    const scale = Math.max(1, Math.round(224 / embedder.inputSize));
    const out: AttentionFigures[number][] = [];
    for (const g of result.groups) {
      const max = Math.max(...g.averageMap, 1e-30);
      const map = g.averageMap.map((v) => v / max);
      const grey: RgbImage = {
        ...g.averageFace,
        pixels: new Uint8Array(g.averageFace.pixels.length).fill(128),
      };
      const overlay = (face: RgbImage) =>
        attentionOverlayPng(face, map, { colormap: 'inferno', opacity: 1, scale });
      // Drawn over the face, the map shows the face too: the grey one is what a report without faces holds.
      const averageGamOnGreyPng = await overlay(grey);
      out.push(
        noFaces
          ? { group: g.group, averageGamPng: averageGamOnGreyPng }
          : {
              group: g.group,
              averageFacePng: await encodePng(g.averageFace, scale),
              averageGamPng: await overlay(g.averageFace),
              averageGamOnGreyPng,
            },
      );
    }
    return out;
  } finally {
    embedder.dispose();
  }
}
