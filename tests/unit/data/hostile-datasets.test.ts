/**
 * Datasets from elsewhere, broken or hostile: what used to be accepted in silence (self-pairs,
 * repeated pairs and rows, an image under two identities, repeated landmark lines, a group on one
 * side only, empty datasets, a BOM in one format but not another) and what used to end in a stack
 * trace (a list file that is a folder, a folder name that is not UTF-8) or to read outside the
 * dataset (links out, devices, pipes). Each is reported with its file and line, in strict loading
 * and in `gabn data check` alike.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { softwareVersion } from '../../../main/base/version.ts';
import type { Dataset } from '../../../main/data/dataset.ts';
import {
  checkDataset,
  loadDataset,
  loadManifestCsv,
  loadPairsCsv,
  loadRfw,
} from '../../../main/data/index.ts';
import { DEFAULT_PROTOCOL, prepareAudit } from '../../../main/eval/audit-figures.ts';
import { parseScoresCsv } from '../../../main/eval/scores-csv.ts';
import { buildAuditReport } from '../../../main/report/audit-report.ts';
import { renderHtmlReport } from '../../../main/report/html.ts';

const RFW = path.resolve('tests/fixtures/rfw-mini');
const BUPT = path.resolve('tests/fixtures/bupt-mini');
const temps: string[] = [];

function copyOf(fixture: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-hostile-data-'));
  temps.push(dir);
  cpSync(fixture, dir, { recursive: true });
  return dir;
}

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function strictError(load: () => unknown): GabnError {
  try {
    load();
  } catch (error) {
    if (error instanceof GabnError) return error;
    throw error;
  }
  throw new Error('expected the load to fail');
}

const problemsOf = (d: Dataset) =>
  d.problems.map((p) => `${p.severity} ${path.basename(p.file)}:${p.line ?? ''} ${p.message}`);
const txt = (root: string, group: string, kind: string) =>
  path.join(root, 'test', 'txts', group, `${group}_${kind}.txt`);

describe('RFW test sets', () => {
  it('reports a self-pair as an error and a repeated pair as a warning, at their lines', () => {
    const root = copyOf(RFW);
    const pairs = readFileSync(txt(root, 'Alpha', 'pairs'), 'utf8').split('\n');
    pairs[2] = 'm.0a22\t2\t2';
    pairs[4] = pairs[0]!;
    writeFileSync(txt(root, 'Alpha', 'pairs'), pairs.join('\n'));
    const d = loadRfw(root, { collect: true });
    expect(problemsOf(d)).toEqual([
      'error Alpha_pairs.txt:3 a pair of m.0a22_0002.jpg with itself',
      'warning Alpha_pairs.txt:5 the pair is listed again (first at line 1)',
    ]);
    // The repeated pair still counts, as the protocol counts every line; the self-pair does not.
    expect(d.pairs.filter((p) => p.group === 'Alpha')).toHaveLength(19);
    expect(strictError(() => loadRfw(root)).message).toMatch(
      /Alpha_pairs\.txt:3: a pair of m\.0a22_0002\.jpg with itself/,
    );
  });

  it('keeps the first of repeated landmark lines: the same points warn, other points are an error', () => {
    const root = copyOf(RFW);
    const lmk = txt(root, 'Beta', 'lmk');
    const first = readFileSync(lmk, 'utf8').split('\n')[0]!;
    appendFileSync(lmk, `${first}\n${first.replace('16.4', '17.9')}\n`);
    const d = loadRfw(root, { collect: true });
    expect(problemsOf(d)).toEqual([
      'warning Beta_lmk.txt:11 landmarks for /test/data/Beta/m.0b11/m.0b11_0001.jpg are given again (first at line 1)',
      'error Beta_lmk.txt:12 landmarks for /test/data/Beta/m.0b11/m.0b11_0001.jpg are given again (first at line 1) with other points',
    ]);
    const image = d.images.find((i) => i.relative.endsWith('m.0b11_0001.jpg'))!;
    expect(image.landmarks?.[0]).toBe(16.4);
  });

  it('reports a group with lists but no images, one with a folder but no images, and a set with no groups', () => {
    const root = copyOf(RFW);
    renameSync(path.join(root, 'test', 'data', 'Beta'), path.join(root, 'beta-elsewhere'));
    mkdirSync(path.join(root, 'test', 'data', 'Gamma'));
    mkdirSync(path.join(root, 'test', 'txts', 'Gamma'));
    writeFileSync(txt(root, 'Gamma', 'pairs'), '');
    const d = loadRfw(root, { collect: true });
    expect(d.groups).toEqual(['Alpha', 'Gamma']);
    expect(problemsOf(d)).toEqual(
      expect.arrayContaining([
        'error Beta: group Beta has lists in test/txts/Beta/ but no images',
        'error Gamma: group Gamma has no images',
      ]),
    );
    const empty = mkdtempSync(path.join(os.tmpdir(), 'gabn-empty-rfw-'));
    temps.push(empty);
    mkdirSync(path.join(empty, 'test', 'data'), { recursive: true });
    mkdirSync(path.join(empty, 'test', 'txts'));
    expect(strictError(() => loadRfw(empty))).toMatchObject({
      kind: 'dataset',
      message: expect.stringMatching(/the test set has no groups/),
    });
  });

  it('reads a pairs file that is a folder, a name that is not UTF-8 and a link out as problems, never as crashes', () => {
    const root = copyOf(RFW);
    rmSync(txt(root, 'Alpha', 'pairs'));
    mkdirSync(txt(root, 'Alpha', 'pairs'));
    mkdirSync(Buffer.from(path.join(root, 'test', 'data', 'Beta', 'caf\xe9'), 'latin1'));
    const secret = path.join(path.dirname(root), `${path.basename(root)}-secret.jpg`);
    temps.push(secret);
    writeFileSync(secret, 'root:x:0:0');
    symlinkSync(secret, path.join(root, 'test', 'data', 'Beta', 'm.0b11', 'm.0b11_0009.jpg'));
    symlinkSync('/etc', path.join(root, 'test', 'data', 'Beta', 'm.0etc'));
    const d = loadRfw(root, { collect: true });
    const problems = problemsOf(d);
    expect(problems).toContain('error Alpha_pairs.txt: Alpha_pairs.txt is a folder');
    expect(problems).toContain('error caf\uFFFD: a name that is not valid UTF-8 is ignored');
    expect(problems).toContain('error m.0b11_0009.jpg: a link that leads out of the dataset is ignored');
    expect(problems).toContain('error m.0etc: a link that leads out of the dataset is ignored');
    expect(d.images.some((i) => i.path.includes('secret') || i.path.startsWith('/etc'))).toBe(false);
  });

  it('follows links that stay inside the dataset', () => {
    const root = copyOf(RFW);
    const image = path.join(root, 'test', 'data', 'Alpha', 'm.0a22', 'm.0a22_0004.jpg');
    symlinkSync(path.join(root, 'test', 'data', 'Alpha', 'm.0a22', 'm.0a22_0001.jpg'), image);
    const d = loadRfw(root, { collect: true });
    expect(d.images.some((i) => i.path === image)).toBe(true);
  });

  it('takes a leading BOM and Windows or old Mac line ends in every list file, and names a UTF-16 one', () => {
    const root = copyOf(RFW);
    for (const kind of ['pairs', 'lmk', 'images', 'people']) {
      const file = txt(root, 'Alpha', kind);
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, `\uFEFF${text.replaceAll('\n', kind === 'lmk' ? '\r' : '\r\n')}`);
    }
    expect(loadRfw(root).problems).toEqual([]);
    writeFileSync(
      txt(root, 'Beta', 'pairs'),
      Buffer.from(`\uFEFF${readFileSync(txt(RFW, 'Beta', 'pairs'), 'utf8')}`, 'utf16le'),
    );
    expect(strictError(() => loadRfw(root)).message).toMatch(
      /Beta_pairs\.txt:1: Beta_pairs\.txt is UTF-16 text \(expected UTF-8 text/,
    );
  });
});

describe('manifest and pairs CSV', () => {
  const header = 'path,identity,group,x1,y1,x2,y2,x3,y3,x4,y4,x5,y5';
  const lmk = '16.4,22.2,31.5,22.1,24.0,30.7,17.8,39.6,30.3,39.5';

  it('counts a repeated row once with a warning, and refuses an image under two identities or groups', () => {
    const root = copyOf(BUPT);
    const file = path.join(root, 'manifest.csv');
    appendFileSync(
      file,
      `Alpha/alpha-1/alpha-1_1.jpg,alpha-1,Alpha,${lmk}\nAlpha/alpha-1/alpha-1_2.jpg,alpha-2,Alpha,${lmk}\n./Alpha/alpha-2/alpha-2_1.jpg,alpha-2,Beta,${lmk}\n`,
    );
    const d = loadManifestCsv(file, { collect: true });
    expect(d.images).toHaveLength(8);
    expect(problemsOf(d)).toEqual([
      'warning manifest.csv:10 Alpha/alpha-1/alpha-1_1.jpg is listed again (first at line 2); counted once',
      "error manifest.csv:11 Alpha/alpha-1/alpha-1_2.jpg is listed as identity 'alpha-1' of group 'Alpha' at line 3 and as identity 'alpha-2' of group 'Alpha' here",
      "error manifest.csv:12 ./Alpha/alpha-2/alpha-2_1.jpg is listed as identity 'alpha-2' of group 'Alpha' at line 4 and as identity 'alpha-2' of group 'Beta' here",
    ]);
  });

  it('refuses an empty or header-only manifest and pairs file, in strict loading and in data check (exit 1)', () => {
    const root = copyOf(BUPT);
    writeFileSync(path.join(root, 'manifest.csv'), `${header}\n`);
    expect(strictError(() => loadManifestCsv(path.join(root, 'manifest.csv'))).message).toMatch(
      /the manifest lists no images/,
    );
    writeFileSync(path.join(root, 'pairs.csv'), 'path1,path2,same,group\r\n');
    expect(strictError(() => loadPairsCsv(path.join(root, 'pairs.csv'))).message).toMatch(
      /the pairs file lists no pairs/,
    );
    writeFileSync(path.join(root, 'empty.csv'), '');
    expect(strictError(() => loadDataset(path.join(root, 'empty.csv'))).message).toMatch(/unrecognised file/);
    const run = spawnSync(
      process.execPath,
      ['bin/gabn.js', 'data', 'check', '--no-images', path.join(root, 'pairs.csv')],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/pairs\.csv: the pairs file lists no pairs/);
  });

  it('reports self-pairs, images in two groups, one-sided groups and single folds; repeated pairs warn', () => {
    const root = copyOf(BUPT);
    const a = 'Alpha/alpha-1/alpha-1_1.jpg';
    const b = 'Alpha/alpha-1/alpha-1_2.jpg';
    const c = 'Alpha/alpha-2/alpha-2_1.jpg';
    const x = 'Beta/beta-1/beta-1_1.jpg';
    const y = 'Beta/beta-1/beta-1_2.jpg';
    const file = path.join(root, 'pairs.csv');
    writeFileSync(
      file,
      [
        'path1,path2,same,group,fold',
        `${a},${b},1,Alpha,3`,
        `${a},${c},0,Alpha,3`,
        `${b},${a},1,Alpha,3`,
        `${a},${a},1,Alpha,3`,
        `${x},${a},0,Beta,0`,
        `${x},${y},1,Beta,99999999`,
      ].join('\n'),
    );
    const d = loadPairsCsv(file, { collect: true });
    expect(problemsOf(d)).toEqual([
      "error pairs.csv:2 group 'Alpha' has a single fold (3)",
      `warning pairs.csv:4 the pair ${b}, ${a} is listed again (first at line 2)`,
      `error pairs.csv:5 a pair of ${a} with itself`,
      `error pairs.csv:6 ${a} is in group 'Alpha' at line 2 and in group 'Beta' here`,
      "error pairs.csv:7 group 'Beta' has only genuine pairs",
      "error pairs.csv:7 group 'Beta' has a single fold (99999999)",
    ]);
    // Fold labels are any non-negative integers: each group's, in order, become 0..K-1.
    expect(d.pairs.filter((p) => p.group === 'Alpha').map((p) => p.fold)).toEqual([0, 0, 0]);
  });

  it('refuses images that are links out of the dataset, folders, pipes or devices, and follows links inside', () => {
    const root = copyOf(BUPT);
    const secret = path.join(path.dirname(root), `${path.basename(root)}-secret.jpg`);
    temps.push(secret);
    writeFileSync(secret, 'root:x:0:0');
    symlinkSync(secret, path.join(root, 'Alpha', 'out.jpg'));
    symlinkSync('/dev/zero', path.join(root, 'Alpha', 'zero.jpg'));
    symlinkSync(path.join(root, 'Alpha', 'alpha-1', 'alpha-1_1.jpg'), path.join(root, 'Alpha', 'in.jpg'));
    mkdirSync(path.join(root, 'Alpha', 'folder.jpg'));
    execFileSync('mkfifo', [path.join(root, 'Alpha', 'pipe.jpg')]);
    const file = path.join(root, 'manifest.csv');
    writeFileSync(
      file,
      [
        'path,identity,group',
        ...['out', 'zero', 'in', 'folder', 'pipe'].map((n) => `Alpha/${n}.jpg,alpha-9,Alpha`),
      ].join('\n'),
    );
    const d = loadManifestCsv(file, { collect: true });
    expect(problemsOf(d)).toEqual([
      'error manifest.csv:2 Alpha/out.jpg is a link that leads out of the dataset',
      'error manifest.csv:3 Alpha/zero.jpg is a device',
      'error manifest.csv:5 Alpha/folder.jpg is a folder',
      'error manifest.csv:6 Alpha/pipe.jpg is a pipe',
    ]);
    expect(d.images.map((i) => i.relative)).toEqual([path.join('Alpha', 'in.jpg')]);
    expect(strictError(() => loadManifestCsv(file)).message).toMatch(
      /manifest\.csv:2: Alpha\/out\.jpg is a link that leads out of the dataset/,
    );
  });

  it('data check reports images that resolve outside their dataset, and exits 1', async () => {
    const root = copyOf(BUPT);
    const secret = path.join(path.dirname(root), `${path.basename(root)}-passwd`);
    temps.push(secret);
    writeFileSync(secret, 'root:x:0:0');
    symlinkSync(secret, path.join(root, 'Beta', 'beta-1', 'beta-1_9.jpg'));
    const file = path.join(root, 'pairs.csv');
    writeFileSync(file, `path1,path2,same,group\nBeta/beta-1/beta-1_9.jpg,Beta/beta-1/beta-1_1.jpg,1,Beta\n`);
    const check = await checkDataset(file, { decodeImages: false });
    expect(check.errors).toBeGreaterThan(0);
    expect(check.problems[0]).toMatchObject({
      line: 2,
      message: 'Beta/beta-1/beta-1_9.jpg is a link that leads out of the dataset',
    });
  });

  it('takes a BOM and quoted headers in both CSVs, as the RFW files and the scores CSV do', () => {
    const root = copyOf(BUPT);
    for (const name of ['manifest.csv', 'pairs.csv']) {
      const file = path.join(root, name);
      const [head, ...rest] = readFileSync(file, 'utf8').split('\n');
      writeFileSync(
        file,
        `\uFEFF${head!
          .split(',')
          .map((h) => `"${h}"`)
          .join(',')}\r\n${rest.join('\r\n')}`,
      );
    }
    expect(loadDataset(path.join(root, 'manifest.csv')).images).toHaveLength(8);
    expect(loadDataset(path.join(root, 'pairs.csv')).pairs).toHaveLength(20);
  });

  it('refuses a dataset path that is a pipe or a device at once', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-pipe-'));
    temps.push(dir);
    execFileSync('mkfifo', [path.join(dir, 'pairs.csv')]);
    expect(strictError(() => loadDataset(path.join(dir, 'pairs.csv'))).message).toMatch(
      /the dataset file is a pipe/,
    );
    expect(strictError(() => loadDataset('/dev/zero')).message).toMatch(/the dataset file is a device/);
  });
});

describe('names from a dataset in a report', () => {
  it('stay text: group names that hold markup are escaped in the HTML report', () => {
    const names = ['<script>alert(1)</script>', `b"'&<img src=x onerror=alert(2)>`];
    const lines = ['group,same,score'];
    for (const g of names)
      for (let i = 0; i < 20; i++) lines.push(`"${g.replaceAll('"', '""')}",${i % 2},${i % 2 ? 0.6 : 0.1}`);
    const audit = prepareAudit(parseScoresCsv(lines.join('\n'), 'f.csv').groups, DEFAULT_PROTOCOL);
    const report = buildAuditReport({
      audit,
      bootstrap: null,
      explicitFolds: false,
      comparison: null,
      provenance: {
        software: softwareVersion(),
        createdAt: '2026-01-01T00:00:00Z',
        commandLine: [],
        inputs: [],
      },
    });
    const html = renderHtmlReport([report], { noFaces: true, labels: ['f.csv'] });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
