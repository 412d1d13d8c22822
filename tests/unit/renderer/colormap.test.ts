import { describe, expect, it } from 'vitest';
import { COLORMAP_NAMES, overlayAttention } from '../../../main/report/figures/colormap.ts';
import {
  blendAttention,
  COLORMAPS,
  colormapCss,
  decodeMap,
  saturateAt,
} from '../../../renderer/src/drawing/colormap.ts';
import { encodeMap } from './fake-client.ts';

describe('renderer overlays', () => {
  it('blend exactly as the PNGs the CLI writes, for every colormap and opacity', () => {
    expect([...COLORMAPS].sort()).toEqual([...COLORMAP_NAMES].sort());
    const pixels = 64;
    const rgb = Uint8Array.from({ length: pixels * 3 }, (_, i) => (i * 37) % 256);
    const map = Float32Array.from({ length: pixels }, (_, i) =>
      i === 5 ? 1.2 : i === 6 ? -0.1 : (i * 0.61) % 1,
    );
    for (const name of COLORMAPS) {
      for (const opacity of [0, 0.35, 1]) {
        const expected = overlayAttention(rgb, map, name, opacity);
        const rgba = new Uint8ClampedArray(pixels * 4);
        for (let p = 0; p < pixels; p++) {
          rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
          rgba[p * 4 + 3] = 255;
        }
        blendAttention(rgba, map, name, opacity);
        const got = new Uint8Array(pixels * 3);
        for (let p = 0; p < pixels; p++) got.set(rgba.subarray(p * 4, p * 4 + 3), p * 3);
        expect(Array.from(got), `${name} ${opacity}`).toEqual(Array.from(expected));
        expect(rgba.filter((_, i) => i % 4 === 3).every((a) => a === 255)).toBe(true);
      }
    }
  });

  it('uses the perceptual tables: inferno runs from near black to pale yellow', () => {
    expect(colormapCss('inferno', 0)).toBe('rgb(0, 0, 4)');
    expect(colormapCss('viridis', 0)).toBe('rgb(68, 1, 84)');
    expect(colormapCss('gray', 1)).toBe('rgb(255, 255, 255)');
  });

  it('decodes the hosts’ base64 float32 maps and checks their length', () => {
    const values = [0, 0.25, 0.5, 1];
    expect(Array.from(decodeMap(encodeMap(values), 4))).toEqual(values);
    expect(() => decodeMap(encodeMap(values), 5)).toThrow('a map of 4 values, expected 5');
  });
});

describe('saturateAt', () => {
  it('rescales a map so that its colours saturate at a quantile, leaving the original alone', () => {
    // 100 values 0.00 … 0.99: the 95th percentile (index floor(0.95·99) = 94) is 0.94.
    const values = Float32Array.from({ length: 100 }, (_, i) => i / 100);
    const shown = saturateAt(values, 0.95);
    expect(shown[47]).toBeCloseTo(0.47 / 0.94, 6);
    expect(shown[94]).toBeCloseTo(1, 6);
    expect(shown[99]).toBe(1);
    expect(values[99]).toBeCloseTo(0.99, 6);
  });

  it('keeps the map as it is at quantile 1, and when the quantile is zero (an all-dark map)', () => {
    const values = Float32Array.from([0, 0, 0, 0.5]);
    expect(saturateAt(values, 1)).toBe(values);
    expect(saturateAt(values, 0.5)).toBe(values);
  });
});
