/**
 * Attention overlays drawn in the page with exactly the colours and blend of the PNGs the CLI writes
 * (main/gabn/colormap.ts): the tables come from the same resources/colormaps.json, and each pixel is
 * out = (1 − a·v)·face + a·v·cmap(v), so pixels without attention keep the face visible.
 */
import colormaps from '../../../resources/colormaps.json';

export const COLORMAPS = ['inferno', 'viridis', 'magma', 'turbo', 'gray'] as const;
export type Colormap = (typeof COLORMAPS)[number];

const tables = new Map<Colormap, Uint8Array>();

/** The 256×3 RGB lookup table of a colormap. */
export function colormapTable(name: Colormap): Uint8Array {
  let table = tables.get(name);
  if (table === undefined) {
    const rows = (colormaps.maps as Record<string, number[][]>)[name];
    if (rows?.length !== 256) throw new Error(`colormap ${name} is missing or not 256 entries`);
    table = Uint8Array.from(rows.flat());
    tables.set(name, table);
  }
  return table;
}

/**
 * Blends `map` (width·height values in [0, 1]) over RGBA pixels of the same size, in place. Alpha
 * stays opaque.
 */
export function blendAttention(
  rgba: Uint8ClampedArray,
  map: Float32Array,
  colormap: Colormap,
  opacity: number,
): void {
  if (rgba.length !== map.length * 4) {
    throw new Error(`overlay: image has ${rgba.length / 4} pixels, map has ${map.length}`);
  }
  const table = colormapTable(colormap);
  for (let i = 0; i < map.length; i++) {
    const v = Math.min(1, Math.max(0, map[i]!));
    const index = Math.round(v * 255) * 3;
    const alpha = opacity * v;
    for (let c = 0; c < 3; c++) {
      rgba[i * 4 + c] = Math.round((1 - alpha) * rgba[i * 4 + c]! + alpha * table[index + c]!);
    }
  }
}

/**
 * A map rescaled for display so that its colours saturate at its `quantile` (1 = its maximum, as the
 * CLI's PNGs do). Pixel-level attention is sparse: a few pixels hold the maximum and the rest would be
 * nearly invisible. Values above the quantile show as 1; the map itself (and every statistic) is
 * unchanged.
 */
export function saturateAt(values: Float32Array, quantile: number): Float32Array {
  if (quantile >= 1 || values.length === 0) return values;
  const sorted = Float32Array.from(values).sort();
  const top = sorted[Math.min(sorted.length - 1, Math.floor(quantile * (sorted.length - 1)))]!;
  if (!(top > 0)) return values;
  return values.map((v) => Math.min(1, v / top));
}

/** CSS colour of a value in [0, 1] (legends). */
export function colormapCss(name: Colormap, value: number): string {
  const table = colormapTable(name);
  const i = Math.round(Math.min(1, Math.max(0, value)) * 255) * 3;
  return `rgb(${table[i]}, ${table[i + 1]}, ${table[i + 2]})`;
}

/** The float32 values of an attribution map sent as little-endian base64. */
export function decodeMap(base64: string, expected: number): Float32Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (bytes.length !== expected * 4)
    throw new Error(`a map of ${bytes.length / 4} values, expected ${expected}`);
  return new Float32Array(bytes.buffer);
}
