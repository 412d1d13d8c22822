/**
 * Colormaps for attention maps. The tables live in resources/colormaps.json so that the renderer
 * draws overlays with exactly the same colours as the PNGs the CLI writes.
 */
import { readFileSync } from 'node:fs';
import { GabnError } from '../../base/errors.ts';

export const COLORMAP_NAMES = ['viridis', 'inferno', 'magma', 'turbo', 'gray'] as const;
export type ColormapName = (typeof COLORMAP_NAMES)[number];

interface ColormapFile {
  readonly groupColours: string[];
  readonly maps: Record<string, number[][]>;
}

const COLOURS_FILE = new URL('../../../resources/colormaps.json', import.meta.url);
let tables: Map<ColormapName, Uint8Array> | undefined;
let groups: readonly string[] | undefined;

function readColours(): ColormapFile {
  return JSON.parse(readFileSync(COLOURS_FILE, 'utf8')) as ColormapFile;
}

/** One colour a group in every chart, the report's and the app's alike (resources/colormaps.json). */
export function groupColours(): readonly string[] {
  groups ??= readColours().groupColours;
  return groups;
}

function load(): Map<ColormapName, Uint8Array> {
  const file = COLOURS_FILE;
  const parsed = readColours();
  const result = new Map<ColormapName, Uint8Array>();
  for (const name of COLORMAP_NAMES) {
    const rows = parsed.maps[name];
    if (rows?.length !== 256)
      throw new GabnError('internal', `colormap ${name} is missing or not 256 entries`, {
        file: file.pathname,
      });
    result.set(name, Uint8Array.from(rows.flat()));
  }
  return result;
}

/** The 256x3 RGB lookup table of a colormap. */
export function colormapTable(name: ColormapName): Uint8Array {
  tables ??= load();
  const table = tables.get(name);
  if (table === undefined) {
    throw new GabnError('usage', `unknown colormap '${name}'`, {
      expected: `one of ${COLORMAP_NAMES.join(', ')}`,
    });
  }
  return table;
}

export function parseColormapName(name: string): ColormapName {
  if ((COLORMAP_NAMES as readonly string[]).includes(name)) return name as ColormapName;
  throw new GabnError('usage', `unknown colormap '${name}'`, {
    expected: `one of ${COLORMAP_NAMES.join(', ')}`,
  });
}

/**
 * Blends a map (values in [0, 1], one per pixel) over an RGB image: out = (1 - a·v') img + a·v' cmap(v)
 * where v' = v, so that pixels with no attention keep the face visible. Values are clamped to [0, 1].
 */
export function overlayAttention(
  rgb: Uint8Array,
  map: Float32Array,
  colormap: ColormapName,
  opacity: number,
): Uint8Array {
  if (rgb.length !== map.length * 3) {
    throw new GabnError('internal', `overlay: image has ${rgb.length / 3} pixels, map has ${map.length}`);
  }
  const table = colormapTable(colormap);
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < map.length; i++) {
    const v = Math.min(1, Math.max(0, map[i]!));
    const index = Math.round(v * 255) * 3;
    const alpha = opacity * v;
    for (let c = 0; c < 3; c++) {
      out[i * 3 + c] = Math.round((1 - alpha) * rgb[i * 3 + c]! + alpha * table[index + c]!);
    }
  }
  return out;
}

/** A map alone, in colour (for the average GAM and side-by-side figures). */
export function colorizeMap(map: Float32Array, colormap: ColormapName): Uint8Array {
  const table = colormapTable(colormap);
  const out = new Uint8Array(map.length * 3);
  for (let i = 0; i < map.length; i++) {
    const index = Math.round(Math.min(1, Math.max(0, map[i]!)) * 255) * 3;
    out[i * 3] = table[index]!;
    out[i * 3 + 1] = table[index + 1]!;
    out[i * 3 + 2] = table[index + 2]!;
  }
  return out;
}
