import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  AverageFace,
  attentionOverlayPng,
  denormalise,
  encodePng,
  outlineRectangles,
  type RgbImage,
} from '../../../main/report/figures/attention-figures.ts';

async function decode(png: Buffer): Promise<{ width: number; height: number; data: Buffer }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

const grey = (width: number, height: number, value: number): RgbImage => ({
  width,
  height,
  pixels: new Uint8Array(width * height * 3).fill(value),
});

describe('attention figures', () => {
  it('denormalises the paper normalisation back to pixels, clamped', () => {
    const face = denormalise(Float32Array.from([-1, 0, 1, (0 - 127.5) / 128, (255 - 127.5) / 128, 2]), 2, 1);
    expect(Array.from(face.pixels)).toEqual([0, 128, 255, 0, 255, 255]);
  });
  it('outlines rectangles without filling them', () => {
    const out = outlineRectangles(grey(5, 5, 0), [{ top: 1, left: 1, height: 3, width: 3 }], [255, 255, 255]);
    const at = (r: number, c: number) => out.pixels[(r * 5 + c) * 3];
    expect(at(1, 1)).toBe(255);
    expect(at(3, 3)).toBe(255);
    expect(at(2, 2)).toBe(0);
    expect(at(0, 0)).toBe(0);
  });
  it('writes an overlay PNG whose hottest pixel carries the colormap colour', async () => {
    const map = new Float32Array(4 * 4);
    map[5] = 1;
    const png = await attentionOverlayPng(grey(4, 4, 100), map, { colormap: 'gray', opacity: 1, scale: 2 });
    const { width, height, data } = await decode(png);
    expect([width, height]).toEqual([8, 8]);
    // pixel (1,1) of the map is (2..3, 2..3) after nearest-neighbour scaling by 2
    expect(data[(2 * 8 + 2) * 3]).toBe(255);
    expect(data[0]).toBe(100);
  });
  it('round-trips raw RGB through PNG exactly', async () => {
    const image: RgbImage = {
      width: 3,
      height: 2,
      pixels: Uint8Array.from({ length: 18 }, (_, i) => i * 13),
    };
    const { data } = await decode(await encodePng(image));
    expect(Array.from(data)).toEqual(Array.from(image.pixels));
  });
  it('averages faces', () => {
    const average = new AverageFace(1, 1);
    average.add({ width: 1, height: 1, pixels: Uint8Array.from([0, 10, 255]) });
    average.add({ width: 1, height: 1, pixels: Uint8Array.from([101, 20, 0]) });
    expect(average.size).toBe(2);
    expect(Array.from(average.image().pixels)).toEqual([51, 15, 128]);
  });
});
