/** Recognises a dataset's format from what is on disk and loads it. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { loadBupt } from './bupt.ts';
import type { Dataset, DatasetFormat } from './dataset.ts';
import { loadManifestCsv } from './manifest-csv.ts';
import { loadPairsCsv } from './pairs-csv.ts';
import { findRfwTestFolder, type LoadOptions, loadRfw } from './rfw.ts';

export function detectFormat(target: string): DatasetFormat {
  if (!existsSync(target)) {
    throw new GabnError('missing-file', 'no such file or folder', {
      file: target,
      expected: 'an RFW or BUPT folder, or a manifest or pairs CSV',
    });
  }
  if (statSync(target).isFile()) {
    const header = readFileSync(target, 'utf8').split('\n', 1)[0] ?? '';
    if (header.startsWith('path1,')) return 'pairs-csv';
    if (header.startsWith('path,')) return 'manifest-csv';
    throw new GabnError('malformed', `unrecognised file (header '${header.slice(0, 60)}')`, {
      file: target,
      line: 1,
      expected: 'a manifest CSV (path,identity,group…) or a pairs CSV (path1,path2,same,group…)',
    });
  }
  if (findRfwTestFolder(target) !== undefined) return 'rfw';
  if (existsSync(path.join(target, 'manifest.csv'))) return 'manifest-csv';
  return 'bupt';
}

export function loadDataset(target: string, options: LoadOptions = {}): Dataset {
  const format = detectFormat(target);
  switch (format) {
    case 'rfw':
      return loadRfw(target, options);
    case 'manifest-csv':
      return loadManifestCsv(statSync(target).isFile() ? target : path.join(target, 'manifest.csv'), options);
    case 'pairs-csv':
      return loadPairsCsv(target, options);
    case 'bupt':
      return loadBupt(target, options);
  }
}
