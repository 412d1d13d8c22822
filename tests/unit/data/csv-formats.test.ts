import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadBupt, loadDataset, loadManifestCsv, loadPairsCsv } from '../../../main/data/index.ts';

const FIXTURE = path.resolve('tests/fixtures/bupt-mini');
const temps: string[] = [];

function copy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-bupt-'));
  temps.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function withLine(file: string, line: number, text: string): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[line - 1] = text;
  writeFileSync(file, lines.join('\n'));
}

describe('BUPT layout and manifest CSV', () => {
  it('reads the folder tree: groups, identities, images', () => {
    const d = loadBupt(FIXTURE);
    expect(d.groups).toEqual(['Alpha', 'Beta']);
    expect(d.images).toHaveLength(8);
    expect(new Set(d.images.map((i) => i.identity))).toEqual(
      new Set(['alpha-1', 'alpha-2', 'beta-1', 'beta-2']),
    );
  });
  it('prefers manifest.csv, with its landmarks, when the folder has one', () => {
    const d = loadDataset(FIXTURE);
    expect(d.format).toBe('manifest-csv');
    expect(d.images.every((i) => i.landmarks?.[0] === 16.4)).toBe(true);
  });
  it('refuses a wrong header, naming line 1 and the expected columns', () => {
    const root = copy();
    withLine(path.join(root, 'manifest.csv'), 1, 'file,person,group');
    expect(() => loadManifestCsv(path.join(root, 'manifest.csv'))).toThrow(
      /:1: header 'file,person,group' \(expected path,identity,group/,
    );
  });
  it('reports a bad coordinate, a missing image and a path leaving the folder, each with its line', () => {
    const root = copy();
    const file = path.join(root, 'manifest.csv');
    withLine(
      file,
      2,
      'Alpha/alpha-1/alpha-1_1.jpg,alpha-1,Alpha,16.4,x,31.5,22.1,24.0,30.7,17.8,39.6,30.3,39.5',
    );
    withLine(
      file,
      3,
      'Alpha/alpha-1/nope.jpg,alpha-1,Alpha,16.4,22.2,31.5,22.1,24.0,30.7,17.8,39.6,30.3,39.5',
    );
    withLine(file, 4, '../outside.jpg,alpha-2,Alpha,16.4,22.2,31.5,22.1,24.0,30.7,17.8,39.6,30.3,39.5');
    const d = loadManifestCsv(file, { collect: true });
    expect(d.problems.map((p) => [p.line, p.message])).toEqual([
      [2, "y1 'x' is not a number"],
      [3, 'Alpha/alpha-1/nope.jpg does not exist'],
      [4, "'../outside.jpg' is outside the CSV's folder"],
    ]);
    expect(d.images).toHaveLength(5);
  });
  it('handles quoted fields with commas', () => {
    const root = copy();
    const file = path.join(root, 'manifest.csv');
    withLine(
      file,
      2,
      '"Alpha/alpha-1/alpha-1_1.jpg","alpha,1",Alpha,16.4,22.2,31.5,22.1,24.0,30.7,17.8,39.6,30.3,39.5',
    );
    expect(loadManifestCsv(file).images[0]!.identity).toBe('alpha,1');
  });
});

describe('pairs CSV', () => {
  it('reads pairs and splits them into 10 contiguous folds when no fold column is given', () => {
    const d = loadPairsCsv(path.join(FIXTURE, 'pairs.csv'));
    expect(d.pairs).toHaveLength(20);
    expect(d.pairs.map((p) => p.fold)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
    expect(d.images).toHaveLength(3);
  });
  it('uses KFold sizes when the count is not a multiple of 10', () => {
    const root = copy();
    const file = path.join(root, 'pairs.csv');
    const lines = readFileSync(file, 'utf8').trim().split('\n').slice(0, 14);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const folds = loadPairsCsv(file).pairs.map((p) => p.fold);
    // 13 pairs: the first 3 folds hold 2, the other 7 hold 1 (sklearn KFold).
    expect(folds).toEqual([0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it('refuses a bad same value with its line', () => {
    const root = copy();
    const file = path.join(root, 'pairs.csv');
    withLine(file, 3, 'Alpha/alpha-1/alpha-1_1.jpg,Alpha/alpha-1/alpha-1_2.jpg,yes,Alpha');
    expect(() => loadPairsCsv(file)).toThrow(/pairs\.csv:3: same 'yes' is not 1, 0, true or false/);
  });
});
