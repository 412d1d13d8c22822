/**
 * The audit use case with several sources on the same pairs (the paper's Table 4) and chosen target
 * FMRs: every later source is compared with the first by the paired bootstrap, and the HTML shows
 * them side by side; the request is refused with a clear message beyond its limits.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { prepareAudit } from '../../../main/eval/audit-figures.ts';
import { pairedBootstrap } from '../../../main/eval/bootstrap.ts';
import { readScoresCsv } from '../../../main/eval/scores-csv.ts';
import { runAudit } from '../../../main/usecases/audit/run-audit.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-audit-sources-'));

/** Scores of three groups on the same pairs; `gap` widens the difference between the groups. */
function scores(name: string, gap: number): string {
  const random = createPrng(5);
  const lines = ['group,same,score'];
  for (const [k, group] of ['a', 'b', 'c'].entries()) {
    for (let i = 0; i < 200; i++) {
      const same = i % 2 === 0;
      lines.push(
        `${group},${same ? 1 : 0},${((same ? 0.6 - gap * k : 0.1) + 0.8 * (random.next() - 0.5)).toFixed(5)}`,
      );
    }
  }
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('an audit of several sources on the same pairs', () => {
  it('compares each with the first, shows them side by side, and uses the target FMRs asked for', async () => {
    const files = [scores('a.csv', 0.15), scores('b.csv', 0.05), scores('c.csv', 0.1)];
    const html = path.join(dir, 'table.html');
    const phases = new Set<string>();
    const outcome = await runAudit(
      {
        scores: files,
        bootstrap: 60,
        seed: 2,
        targetFmrs: [0.05],
        out: [html, path.join(dir, 'table.json')],
        commandLine: [],
      },
      { onProgress: (phase) => phases.add(phase) },
    );
    expect(outcome.reports).toHaveLength(3);
    expect(outcome.labels).toEqual(['a.csv', 'b.csv', 'c.csv']);
    expect(outcome.comparisons.map((c) => path.basename(c.candidate.path))).toEqual(['b.csv', 'c.csv']);
    expect([...phases]).toEqual([
      'pairs',
      'bootstrap',
      'bootstrap (second)',
      'bootstrap (c.csv)',
      'paired bootstrap',
      'paired bootstrap (c.csv)',
    ]);
    // Each comparison is the paired bootstrap of that source against the first, computed directly.
    const audits = await Promise.all(files.map(async (f) => prepareAudit((await readScoresCsv(f)).groups)));
    const direct = await pairedBootstrap(audits[0]!, audits[2]!, { resamples: 60, seed: 2 });
    expect(outcome.comparisons[1]!.std.pValue).toBe(direct.std.pValue);
    expect(outcome.comparisons[1]!.groups!.map((g) => g.observed)).toEqual(
      direct.groups.map((g) => g.observed),
    );
    // The first report keeps the comparison with the second, as with two sources.
    expect(outcome.reports[0]!.comparison).toEqual(outcome.comparisons[0]);
    for (const r of outcome.reports)
      expect(r.overall.operatingPoints.map((op) => op.targetFmr)).toEqual([0.05]);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(
      /<th scope="row">a\.csv<\/th>.*<th scope="row">b\.csv<\/th>.*<th scope="row">c\.csv<\/th>/s,
    );
    expect(page).toContain('Is c.csv fairer than a.csv?');
    expect(JSON.parse(readFileSync(path.join(dir, 'table.json'), 'utf8')).comparison.candidate.path).toBe(
      files[1],
    );
  });

  it('says which limit a request is beyond', async () => {
    const file = scores('x.csv', 0.1);
    const base = { scores: [file], out: [path.join(dir, 'x.json')], commandLine: [] };
    await expect(runAudit({ ...base, scores: Array(9).fill(file) })).rejects.toThrow(/9 sources given/);
    await expect(runAudit({ ...base, targetFmrs: [0] })).rejects.toThrow(/target FMRs 0/);
    await expect(runAudit({ ...base, targetFmrs: [] })).rejects.toThrow(/one to six rates/);
  });
});
