/**
 * The stride lattice of the GAM: where the attention of a strided network concentrates, measured on
 * hand-made maps, on the demo baseline and on an untrained network of the same architecture; and
 * GAM-SFRE's smoothed centres, which rank regions instead of lattice points.
 */
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { loadAlignedImage } from '../../../main/data/image.ts';
import { loadDataset } from '../../../main/data/load-dataset.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { latticeArea, latticeShare } from '../../../main/eval/attention-stats.ts';
import { computeAttribution } from '../../../main/gabn/attribution.ts';
import { boxFiltered, sensitiveRegionMasks } from '../../../main/gabn/masks.ts';
import { type Embedder, iresnetEmbedder, loadEmbedder } from '../../../main/models/embedder.ts';
import { createIResNet } from '../../../main/models/iresnet.ts';
import { IRESNET_STRIDE, iresnetSpec } from '../../../main/models/iresnet-spec.ts';
import { createMarginHead } from '../../../main/models/margin-head.ts';

const S = 56;

/** A grid of spikes on the 16-pixel lattice, and a broad bump centred at (row, column). */
function latticeAndBump(row: number, column: number, bump: number): Float32Array {
  const map = new Float32Array(S * S);
  for (let r = 0; r < S; r += 16) for (let c = 0; c < S; c += 16) map[r * S + c] = 1;
  for (let r = 0; r < S; r++)
    for (let c = 0; c < S; c++)
      map[r * S + c]! += bump * Math.exp(-((r - row) ** 2 + (c - column) ** 2) / 40);
  return map;
}

describe('the stride lattice', () => {
  it('a uniform map puts the lattice area there; a map on the lattice all; one off it none', () => {
    const area = latticeArea(S, S, 16);
    // Rows and columns within one of 0, 16, 32 and 48: 0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 49.
    expect(area).toBeCloseTo((11 * 11) / (S * S), 12);
    expect(latticeShare(new Float32Array(S * S).fill(0.3), S, S, 16)).toBeCloseTo(area, 12);
    const on = new Float32Array(S * S);
    on[17 * S + 33] = 1;
    on[0] = 2;
    expect(latticeShare(on, S, S, 16)).toBe(1);
    const off = new Float32Array(S * S);
    off[8 * S + 8] = 1;
    expect(latticeShare(off, S, S, 16)).toBe(0);
    expect(latticeShare(new Float32Array(S * S), S, S, 16)).toBeNaN();
  });

  it('a box filter as wide as the period averages a periodic pattern away', () => {
    const grid = latticeAndBump(0, 0, 0);
    const smoothed = boxFiltered(grid, S, S, 16);
    // Away from the borders every window holds exactly one spike.
    for (let r = 8; r < S - 8; r++)
      for (let c = 8; c < S - 8; c++) expect(smoothed[r * S + c]).toBeCloseTo(1 / 256, 12);
    expect(boxFiltered([1, 2, 3, 4], 2, 2, 3)).toEqual(Float64Array.from([2.5, 2.5, 2.5, 2.5]));
  });

  it('raw GAM-SFRE centres land on lattice points; smoothed centres in the region that holds the mass', () => {
    const map = latticeAndBump(28, 40, 0.4);
    const erase = { count: 2, maxHeight: 4, maxWidth: 4 };
    const raw = sensitiveRegionMasks(map, S, S, erase, createPrng(1));
    const smoothed = sensitiveRegionMasks(map, S, S, { ...erase, centres: 'smoothed' }, createPrng(1));
    const centre = (r: { top: number; left: number; height: number; width: number }) => [
      r.top + Math.floor(r.height / 2),
      r.left + Math.floor(r.width / 2),
    ];
    for (const r of raw) expect(centre(r).map((v) => v % 16)).toEqual([0, 0]);
    for (const r of smoothed) {
      const [row, column] = centre(r);
      expect(Math.hypot(row! - 28, column! - 40)).toBeLessThan(6);
    }
  });
});

describe("the lattice in networks' attention", () => {
  const shares = async (embedder: Embedder) => {
    await loadEngine({ backend: 'wasm' });
    const dataset = loadDataset('tests/fixtures/rfw-mini');
    const images = dataset.images.slice(0, 8);
    const pixels = new Float32Array(images.length * S * S * 3);
    for (const [k, image] of images.entries()) pixels.set(await loadAlignedImage(image, S), k * S * S * 3);
    const x = tf.tensor4d(pixels, [images.length, S, S, 3]);
    const { maps } = await computeAttribution('gam', embedder.model, x);
    x.dispose();
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    return {
      raw: mean(maps.map((m) => latticeShare(m, S, S, IRESNET_STRIDE))),
      smoothed: mean(
        maps.map((m) => latticeShare(boxFiltered(m, S, S, IRESNET_STRIDE), S, S, IRESNET_STRIDE)),
      ),
    };
  };

  it('the demo baseline: several times the lattice area on the lattice, about the area once smoothed', async () => {
    const embedder = await loadEmbedder('resources/demo/synthetic-baseline.gabn');
    const area = latticeArea(S, S, IRESNET_STRIDE);
    const { raw, smoothed } = await shares(embedder);
    embedder.dispose();
    expect(raw).toBeGreaterThan(3 * area);
    expect(smoothed).toBeLessThan(1.5 * area);
  });

  it('an untrained network of the same architecture too: the lattice comes from the strides', async () => {
    const net = createIResNet(iresnetSpec({ depth: 18, width: 0.25, inputSize: S, embeddingSize: 128 }), 3);
    const embedder = iresnetEmbedder({
      net,
      head: createMarginHead(128, 50, 4),
      groups: [],
      classCount: 50,
      json: null,
      dispose: () => {},
    });
    const { raw } = await shares(embedder);
    expect(raw).toBeGreaterThan(3 * latticeArea(S, S, IRESNET_STRIDE));
  });
});
