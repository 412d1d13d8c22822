import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

function gabn(...args: string[]) {
  return spawnSync(process.execPath, ['bin/gabn.js', ...args], { encoding: 'utf8' });
}

describe('gabn data check', () => {
  it('summarises a good RFW set per group and exits 0', () => {
    const run = gabn('data', 'check', 'tests/fixtures/rfw-mini');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/rfw dataset, 2 groups/);
    expect(run.stdout).toMatch(/Alpha: 3 identities, 10 images \(10 with landmarks\), 20 pairs in 10 folds/);
    expect(run.stdout).toMatch(/m\.0shared: Alpha, Beta/);
    expect(run.stdout).toMatch(/no problems/);
  });
  it('names each broken file and line and exits 1', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-check-'));
    try {
      cpSync('tests/fixtures/rfw-mini', dir, { recursive: true });
      writeFileSync(path.join(dir, 'test/txts/Beta/Beta_people.txt'), 'm.0b11\tthree\n');
      writeFileSync(path.join(dir, 'test/data/Alpha/m.0a11/m.0a11_0002.jpg'), 'not a jpeg');
      const run = gabn('data', 'check', dir, '--json');
      expect(run.status).toBe(1);
      const report = JSON.parse(run.stdout);
      expect(report.errors).toBe(2);
      expect(
        report.problems.map((p: { file: string; line?: number }) => `${p.file}:${p.line ?? ''}`).sort(),
      ).toEqual(['test/data/Alpha/m.0a11/m.0a11_0002.jpg:', 'test/txts/Beta/Beta_people.txt:1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('says what a missing dataset should have been', () => {
    const run = gabn('data', 'check', 'no/such/dir');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/no\/such\/dir: no such file or folder \(expected an RFW or BUPT folder/);
  });
});
