import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { checkDataset, loadDataset, loadRfw } from '../../../main/data/index.ts';

const FIXTURE = path.resolve('tests/fixtures/rfw-mini');
const temps: string[] = [];

/** A writable copy of the RFW fixture to break. */
function brokenCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-rfw-'));
  temps.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const pairsFile = (root: string, group = 'Alpha') =>
  path.join(root, 'test', 'txts', group, `${group}_pairs.txt`);

function replaceLine(file: string, line: number, text: string): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[line - 1] = text;
  writeFileSync(file, lines.join('\n'));
}

function strictError(root: string): GabnError {
  try {
    loadRfw(root);
  } catch (error) {
    if (error instanceof GabnError) return error;
    throw error;
  }
  throw new Error('expected the load to fail');
}

describe('RFW test set', () => {
  it('loads groups, identities, images with landmarks, and pairs in 10 folds', () => {
    const d = loadRfw(FIXTURE);
    expect(d.format).toBe('rfw');
    expect(d.groups).toEqual(['Alpha', 'Beta']);
    expect(d.images).toHaveLength(20);
    expect(d.images.every((i) => i.landmarks?.length === 10)).toBe(true);
    expect(d.pairs).toHaveLength(40);
    const alpha = d.pairs.filter((p) => p.group === 'Alpha');
    expect(new Set(alpha.map((p) => p.fold))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(alpha.filter((p) => p.fold === 3).map((p) => p.same)).toEqual([true, false]);
    const first = alpha[0]!;
    expect(path.basename(d.images[first.a]!.path)).toBe('m.0a11_0001.jpg');
    expect(path.basename(d.images[first.b]!.path)).toBe('m.0a11_0002.jpg');
    expect(d.identitiesInSeveralGroups).toEqual([{ identity: 'm.0shared', groups: ['Alpha', 'Beta'] }]);
    expect(d.problems).toEqual([]);
  });

  it('accepts the test folder itself and is found by loadDataset', () => {
    expect(loadRfw(path.join(FIXTURE, 'test')).images).toHaveLength(20);
    expect(loadDataset(FIXTURE).format).toBe('rfw');
  });

  it('a pairs line without tabs names the file, the line and the form', () => {
    const root = brokenCopy();
    replaceLine(pairsFile(root), 3, 'm.0a22 2 3');
    const error = strictError(root);
    expect(error.kind).toBe('malformed');
    expect(error.file).toBe(path.join('test', 'txts', 'Alpha', 'Alpha_pairs.txt'));
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/1 tab-separated field.*identity<TAB>n1<TAB>n2/);
  });

  it('a short landmark line is refused with its line', () => {
    const root = brokenCopy();
    const lmk = path.join(root, 'test', 'txts', 'Beta', 'Beta_lmk.txt');
    replaceLine(lmk, 2, '/test/data/Beta/m.0b11/m.0b11_0002.jpg\t0\t16.4 22.2 31.5');
    const error = strictError(root);
    expect([error.file, error.line]).toEqual([path.join('test', 'txts', 'Beta', 'Beta_lmk.txt'), 2]);
    expect(error.message).toMatch(/5 fields.*expected 12 fields/);
  });

  it('a pair naming an image that does not exist is refused', () => {
    const root = brokenCopy();
    replaceLine(pairsFile(root), 1, 'm.0a11\t1\t9');
    const error = strictError(root);
    expect(error.kind).toBe('dataset');
    expect(error.line).toBe(1);
    expect(error.message).toMatch(/m\.0a11_0009\.jpg, which is not in test\/data\/Alpha/);
  });

  it('an empty pairs file and a group with no pairs file are reported', () => {
    const root = brokenCopy();
    writeFileSync(pairsFile(root), '');
    unlinkSync(pairsFile(root, 'Beta'));
    const d = loadRfw(root, { collect: true });
    expect(d.problems.map((p) => [p.file, p.message])).toEqual([
      [path.join('test', 'txts', 'Alpha', 'Alpha_pairs.txt'), 'the pairs file is empty'],
      [path.join('test', 'txts', 'Beta', 'Beta_pairs.txt'), 'group Beta has no pairs file'],
    ]);
  });

  it('pairs that cannot form 10 folds, and a negative line in a positive half, are reported', () => {
    const root = brokenCopy();
    replaceLine(pairsFile(root), 1, 'm.0a11\t3\tm.0a22\t1');
    const d = loadRfw(root, { collect: true });
    expect(d.problems).toHaveLength(1);
    expect(d.problems[0]).toMatchObject({
      line: 1,
      message: expect.stringMatching(/negative pair where fold 1 has its positive half/),
    });
    writeFileSync(pairsFile(root), `${readFileSync(pairsFile(root), 'utf8')}m.0a11\t1\t2\n`);
    const again = loadRfw(root, { collect: true });
    expect(again.problems[0]!.message).toMatch(/21 pairs cannot form 10 folds/);
  });

  it('collecting mode reports every problem at once', () => {
    const root = brokenCopy();
    replaceLine(pairsFile(root), 3, 'bad line');
    replaceLine(pairsFile(root), 5, 'm.0a11\t1\t9');
    replaceLine(path.join(root, 'test', 'txts', 'Beta', 'Beta_people.txt'), 1, 'm.0b11\t7');
    const d = loadRfw(root, { collect: true });
    expect(d.problems.map((p) => `${path.basename(p.file)}:${p.line}`)).toEqual([
      'Alpha_pairs.txt:3',
      'Alpha_pairs.txt:5',
      'Beta_people.txt:1',
    ]);
    expect(d.problems[2]!.message).toMatch(/listed with 7 images, .* has 3/);
  });

  it('a corrupt JPEG and a PNG named .jpg are found by the check, which goes on', async () => {
    const root = brokenCopy();
    const corrupt = path.join(root, 'test', 'data', 'Alpha', 'm.0a22', 'm.0a22_0001.jpg');
    truncateSync(corrupt, 200);
    const png = path.join(root, 'test', 'data', 'Beta', 'm.0b22', 'm.0b22_0003.jpg');
    writeFileSync(png, await sharp(png).png().toBuffer());
    const check = await checkDataset(root);
    expect(check.errors).toBe(1);
    expect(check.warnings).toBe(1);
    const [error] = check.problems.filter((p) => p.severity === 'error');
    expect(error!.file).toBe(path.join('test', 'data', 'Alpha', 'm.0a22', 'm.0a22_0001.jpg'));
    expect(error!.message).toMatch(/cannot decode the image/);
    const [warning] = check.problems.filter((p) => p.severity === 'warning');
    expect(warning!.message).toBe('the file holds a PNG image but is named .jpg');
    expect(check.groups.map((g) => g.images)).toEqual([10, 10]);
  });

  it('a folder that is not RFW says what was expected', () => {
    expect(() => loadRfw(os.tmpdir())).toThrow(/not an RFW test set.*test\/data\/<Group>/);
  });
});
