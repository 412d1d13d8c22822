import { describe, expect, it } from 'vitest';
import {
  COLORMAP_NAMES,
  colorizeMap,
  colormapTable,
  overlayAttention,
  parseColormapName,
} from '../../../main/report/figures/colormap.ts';

describe('colormaps', () => {
  it('every table has 256 RGB entries; viridis runs from dark purple to yellow', () => {
    for (const name of COLORMAP_NAMES) expect(colormapTable(name)).toHaveLength(768);
    const viridis = colormapTable('viridis');
    expect(Array.from(viridis.slice(0, 3))).toEqual([68, 1, 84]);
    expect(Array.from(viridis.slice(765))).toEqual([253, 231, 37]);
  });
  it('perceptual maps increase in luminance monotonically (viridis, inferno, magma)', () => {
    for (const name of ['viridis', 'inferno', 'magma'] as const) {
      const t = colormapTable(name);
      let previous = -1;
      for (let i = 0; i < 256; i++) {
        const luminance = 0.2126 * t[i * 3]! + 0.7152 * t[i * 3 + 1]! + 0.0722 * t[i * 3 + 2]!;
        expect(luminance).toBeGreaterThanOrEqual(previous - 1.5);
        previous = luminance;
      }
    }
  });
  it('refuses an unknown name, listing the valid ones', () => {
    expect(() => parseColormapName('jet')).toThrow(/viridis, inferno, magma, turbo, gray/);
  });
  it('overlay keeps pixels without attention and colours the hottest ones', () => {
    const rgb = Uint8Array.from([10, 20, 30, 200, 100, 50]);
    const out = overlayAttention(rgb, Float32Array.from([0, 1]), 'gray', 1);
    expect(Array.from(out)).toEqual([10, 20, 30, 255, 255, 255]);
    const half = overlayAttention(rgb, Float32Array.from([0, 1]), 'gray', 0.5);
    expect(Array.from(half.slice(3))).toEqual([228, 178, 153]);
  });
  it('colorizes and clamps', () => {
    expect(Array.from(colorizeMap(Float32Array.from([-1, 2]), 'gray'))).toEqual([0, 0, 0, 255, 255, 255]);
  });
});
