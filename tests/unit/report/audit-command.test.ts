/** `gabn audit --scores` end to end: the real command in a child process, as a user runs it. */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { paperFairness } from '../../../main/eval/fairness.ts';
import { parseScoresCsv } from '../../../main/eval/scores-csv.ts';
import { verify } from '../../../main/eval/verification.ts';
import type { AuditReport } from '../../../main/report/report-model.ts';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gabn-audit-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const GABN = path.resolve('bin/gabn.js');

function writeScores(dir: string, perGroup: number, noise = 0.9): string {
  const random = createPrng(77);
  const lines = ['group,same,score'];
  const groups: [string, number][] = [
    ['group-a', 0.6],
    ['group-b', 0.5],
    ['group-c', 0.45],
  ];
  for (const [name, genuine] of groups) {
    for (let i = 0; i < perGroup; i++) {
      const same = i % 2 === 0;
      const score = Math.max(-1, Math.min(1, (same ? genuine : 0.1) + noise * (random.next() - 0.5)));
      lines.push(`${name},${same ? 1 : 0},${score}`);
    }
  }
  const file = path.join(dir, 'scores.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('gabn audit --scores', () => {
  it('writes a JSON report whose figures match the protocol run on the same file', () => {
    const dir = tempDir();
    const scores = writeScores(dir, 300);
    const out = path.join(dir, 'report.json');
    const run = spawnSync(
      process.execPath,
      [
        GABN,
        'audit',
        '--scores',
        scores,
        '--bootstrap',
        '100',
        '--seed',
        '5',
        '--out',
        out,
        '--out',
        path.join(dir, 'report.csv'),
      ],
      { encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/bootstrap: 100\/100 \(100%\)/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as AuditReport;
    expect(report.schemaVersion).toBe(1);
    expect(report.provenance.inputs[0]!.sha256).toBe(
      createHash('sha256').update(readFileSync(scores)).digest('hex'),
    );
    expect(report.provenance.software.version).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    expect(report.provenance.commandLine.slice(0, 4)).toEqual(['gabn', 'audit', '--scores', scores]);
    expect(report.protocol.bootstrap).toMatchObject({ resamples: 100, seed: 5 });
    const parsed = parseScoresCsv(readFileSync(scores, 'utf8'), scores);
    const accuracies = parsed.groups.map((g) => 100 * verify(g).accuracy);
    expect(report.groups.map((g) => g.accuracy.value)).toEqual(accuracies);
    const paper = paperFairness(accuracies);
    expect(report.overall.std.value).toBe(paper.std);
    expect(report.overall.ser.value).toBe(paper.ser);
    for (const g of report.groups) {
      expect(g.pairs).toBe(300);
      expect(g.accuracy.interval!.lower!).toBeLessThanOrEqual(g.accuracy.value!);
      expect(g.accuracy.interval!.upper!).toBeGreaterThanOrEqual(g.accuracy.value!);
    }
    const csv = readFileSync(path.join(dir, 'report.csv'), 'utf8').trimEnd().split('\n');
    expect(csv.length).toBe(4);
  });

  it('--compare runs a paired bootstrap and says whether the second score set is fairer', () => {
    const dir = tempDir();
    const scores = writeScores(dir, 1000, 0.6);
    // B: the same pairs with every group's genuine scores moved to the same mean (0.5).
    const lines = readFileSync(scores, 'utf8').trimEnd().split('\n');
    const fairer = lines.map((line, i) => {
      if (i === 0) return line;
      const [group, same, score] = line.split(',');
      const shift = same === '1' ? (group === 'group-a' ? -0.1 : group === 'group-c' ? 0.05 : 0) : 0;
      return `${group},${same},${Math.min(1, Number(score) + shift)}`;
    });
    const b = path.join(dir, 'b.csv');
    writeFileSync(b, `${fairer.join('\n')}\n`);
    const out = path.join(dir, 'report.json');
    const run = spawnSync(
      process.execPath,
      [GABN, 'audit', '--scores', scores, '--compare', b, '--bootstrap', '200', '--out', out],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as AuditReport;
    const c = report.comparison!;
    expect(c.candidate.path).toBe(b);
    expect(c.resamples).toBe(200);
    expect(c.std.observed!).toBeLessThan(0);
    expect(c.std.interval.upper!).toBeLessThan(0);
    expect(c.std.fairer).toBe(true);
    expect(run.stdout).toMatch(/STD B − A -[\d.]+ .*B is fairer/);
  });

  it('says what to audit when nothing is given, and rejects a malformed file by line', () => {
    const dir = tempDir();
    const none = spawnSync(process.execPath, [GABN, 'audit', '--out', path.join(dir, 'r.json')], {
      encoding: 'utf8',
    });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(
      /nothing to audit \(expected --checkpoint C --data DIR, or --scores FILE.csv\)/,
    );
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'group,same,score\na,1,0.5\na,maybe,0.2\n');
    const run = spawnSync(
      process.execPath,
      [GABN, 'audit', '--scores', bad, '--out', path.join(dir, 'r.json')],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`${bad}:3:`);
    expect(readdirSync(dir)).toEqual(['bad.csv']);
  });

  it('Ctrl-C during the bootstrap stops with exit 130 and leaves no report', async () => {
    const dir = tempDir();
    const scores = writeScores(dir, 400);
    const out = path.join(dir, 'report.json');
    const child = spawn(process.execPath, [
      GABN,
      'audit',
      '--scores',
      scores,
      '--bootstrap',
      '1000000',
      '--out',
      out,
    ]);
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('bootstrap:') && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/cancelled/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual(['scores.csv']);
  });
});
