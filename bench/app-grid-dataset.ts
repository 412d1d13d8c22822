/**
 * A dataset of many images made cheaply for the grid benchmark: the demo's synthetic test faces
 * copied once into a folder, and a manifest CSV (path,identity,group) that lists them over and over,
 * each copy under its own identity, all in one group so that the grid shows every row.
 */
import { cpSync, existsSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function imagesUnder(dir: string, base: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...imagesUnder(full, base));
    else if (/\.(jpe?g|png)$/i.test(name)) found.push(path.relative(base, full));
  }
  return found;
}

/** Writes <folder>/manifest.csv listing at least `count` images; returns its path and row count. */
export function makeGridDataset(
  faces: string,
  folder: string,
  count: number,
): { csv: string; rows: number; distinctFiles: number } {
  const copy = path.join(folder, 'faces');
  if (!existsSync(copy)) {
    const staged = `${copy}.partial-${process.pid}`;
    cpSync(faces, staged, { recursive: true });
    renameSync(staged, copy);
  }
  const files = imagesUnder(copy, folder);
  if (files.length === 0) throw new Error(`no images under ${faces}`);
  const lines = ['path,identity,group'];
  for (let i = 0; lines.length - 1 < count; i++) {
    const file = files[i % files.length]!;
    const identity = `copy${Math.floor(i / files.length)}-${path.basename(path.dirname(file))}`;
    lines.push(`${file.split(path.sep).join('/')},${identity},all`);
  }
  const csv = path.join(folder, 'manifest.csv');
  const staged = `${csv}.partial-${process.pid}`;
  writeFileSync(staged, `${lines.join('\n')}\n`);
  renameSync(staged, csv);
  return { csv, rows: lines.length - 1, distinctFiles: files.length };
}
