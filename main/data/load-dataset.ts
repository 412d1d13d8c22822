/** Recognises a dataset's format from what is on disk and loads it. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { MAX_TEXT_BYTES, readUntrustedStart, withoutBom } from '../base/untrusted-files.ts';
import { loadBupt } from './bupt.ts';
import type { Dataset, DatasetFormat } from './dataset.ts';
import { loadManifestCsv } from './manifest-csv.ts';
import { loadPairsCsv } from './pairs-csv.ts';
import { findRfwTestFolder, type LoadOptions, loadRfw } from './rfw.ts';
import { isDirectory } from './scan.ts';

const DATASET_FORMS = 'an RFW or BUPT folder, or a manifest or pairs CSV';

/** The first line of a CSV, as its format is recognised by (the byte order mark policy of every text). */
function firstLine(file: string): string {
  const start = readUntrustedStart(
    file,
    { what: 'the dataset file', maxBytes: MAX_TEXT_BYTES, expected: DATASET_FORMS },
    4096,
  );
  // A character cut at byte 4096 is no header anyway: decode leniently.
  return withoutBom(start.toString('utf8')).split('\n', 1)[0]!.replace(/\r$/, '');
}

export function detectFormat(target: string): DatasetFormat {
  if (!existsSync(target)) {
    throw new GabnError('missing-file', 'no such file or folder', {
      file: target,
      expected: DATASET_FORMS,
    });
  }
  if (!isDirectory(target)) {
    const line = firstLine(target);
    const header = line.replace(/[\s"]+/g, '').toLowerCase();
    if (header.startsWith('path1,')) return 'pairs-csv';
    if (header.startsWith('path,')) return 'manifest-csv';
    throw new GabnError('malformed', `unrecognised file (header '${line.slice(0, 60)}')`, {
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
      return loadManifestCsv(isDirectory(target) ? path.join(target, 'manifest.csv') : target, options);
    case 'pairs-csv':
      return loadPairsCsv(target, options);
    case 'bupt':
      return loadBupt(target, options);
  }
}
