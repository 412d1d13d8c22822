import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { type GroupPairs, prepareAudit } from '../../../main/eval/audit-figures.ts';
import { bootstrapFigures } from '../../../main/eval/bootstrap.ts';
import { verify } from '../../../main/eval/verification.ts';
import { buildAuditReport } from '../../../main/report/audit-report.ts';
import { renderCsvReport, writeCsvReport } from '../../../main/report/csv.ts';
import { writeJsonReport } from '../../../main/report/json.ts';
import type { AuditReport } from '../../../main/report/report-model.ts';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gabn-report-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function group(name: string, n: number, seed: number, genuineMean: number, genuineSpread = 0.6): GroupPairs {
  const random = createPrng(seed);
  const same = Uint8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const distances = Float64Array.from(same, (s) =>
    s ? genuineMean + genuineSpread * (random.next() - 0.5) : 1.5 + 0.6 * (random.next() - 0.5),
  );
  return { name, distances, same };
}

const provenance = {
  software: { name: 'gabn-studio', version: '0.0.0-test' },
  createdAt: '2026-01-01T00:00:00.000Z',
  commandLine: ['gabn', 'audit'],
  inputs: [{ role: 'scores' as const, path: 'x.csv', sha256: '0'.repeat(64) }],
};

async function sampleReport(): Promise<{ report: AuditReport; groups: GroupPairs[] }> {
  // Group "perfect" makes no error: SER and the ratios become infinite and must be written as null.
  const groups = [group('perfect', 200, 1, 0.3, 0), group('b', 230, 2, 1.0), group('c', 200, 3, 1.1)];
  const audit = prepareAudit(groups);
  const bootstrap = await bootstrapFigures(audit, { resamples: 50, seed: 9 });
  return { report: buildAuditReport({ audit, bootstrap, provenance, explicitFolds: false }), groups };
}

describe('report model', () => {
  it('holds every figure with its interval, per group and overall', async () => {
    const { report, groups } = await sampleReport();
    expect(report.schemaVersion).toBe(1);
    expect(report.groups.map((g) => g.name)).toEqual(['perfect', 'b', 'c']);
    const b = report.groups[1]!;
    const protocol = verify(groups[1]!);
    expect(b.pairs).toBe(230);
    expect(b.positives).toBe(115);
    expect(b.accuracy.value).toBe(100 * protocol.accuracy);
    expect(b.folds.map((f) => f.threshold)).toEqual(Array.from(protocol.foldThresholds));
    expect(b.folds.map((f) => f.pairs)).toEqual(Array.from(protocol.foldSizes));
    expect(b.accuracy.interval!.lower!).toBeLessThanOrEqual(b.accuracy.value!);
    expect(b.operatingPoints.map((o) => o.targetFmr)).toEqual([1e-3, 1e-2]);
    expect(b.tarAtFar.map((t) => t.far)).toEqual([1e-3, 1e-2, 1e-1]);
    expect(b.roc.thresholds.length).toBeGreaterThan(50);
    expect(b.foldAveragedRoc.tpr.length).toBe(400);
    expect(report.groups[0]!.accuracy.value).toBe(100);
    // SER with a group at 0 errors is infinite: null in the model.
    expect(report.overall.ser.value).toBeNull();
    expect(report.overall.std.value).toBeGreaterThan(0);
    expect(report.overall.operatingPoints[0]!.fdr.value).toBeLessThanOrEqual(1);
    expect(report.protocol.verification.thresholds).toEqual({ start: 0, stop: 4, step: 0.01, count: 400 });
    expect(report.protocol.bootstrap?.resamples).toBe(50);
    expect(report.comparison).toBeNull();
  });

  it('JSON round-trips; CSV has one row per group; files are written whole, no temporary left', async () => {
    const { report } = await sampleReport();
    const dir = tempDir();
    await writeJsonReport(path.join(dir, 'r.json'), report);
    await writeCsvReport(path.join(dir, 'r.csv'), report);
    expect(readdirSync(dir).sort()).toEqual(['r.csv', 'r.json']);
    expect(JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8'))).toEqual(report);
    const rows = readFileSync(path.join(dir, 'r.csv'), 'utf8').trimEnd().split('\n');
    expect(rows.length).toBe(1 + report.groups.length);
    const header = rows[0]!.split(',');
    expect(header.slice(0, 5)).toEqual(['group', 'pairs', 'positives', 'negatives', 'accuracy']);
    const b = rows[2]!.split(',');
    expect(b.length).toBe(header.length);
    expect(Number(b[header.indexOf('accuracy')])).toBe(report.groups[1]!.accuracy.value);
    expect(Number(b[header.indexOf('tar_at_far_0.1_upper')])).toBe(
      report.groups[1]!.tarAtFar[2]!.tar.interval!.upper,
    );
    expect(renderCsvReport(report)).toBe(readFileSync(path.join(dir, 'r.csv'), 'utf8'));
  });

  it('a failed write names the file and leaves nothing behind', async () => {
    const { report } = await sampleReport();
    const dir = tempDir();
    await expect(writeJsonReport(path.join(dir, 'missing-folder', 'r.json'), report)).rejects.toThrow(
      /missing-folder/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('worst pairs', () => {
  it("are the pairs the protocol's fold thresholds decide wrongly, farthest from their threshold first", () => {
    const groups = [group('a', 400, 11, 1.2, 0.9), group('b', 400, 12, 1.0, 0.9)].map((g) => ({
      ...g,
      images: Array.from(g.distances, (_, i) => ({ a: `${g.name}/${i}-1.jpg`, b: `${g.name}/${i}-2.jpg` })),
    }));
    const report = buildAuditReport({
      audit: prepareAudit(groups),
      bootstrap: null,
      provenance,
      explicitFolds: false,
    });
    groups.forEach((g, k) => {
      // Independently: the 10-fold protocol's threshold of each fold, and every pair it gets wrong.
      const run = verify(g);
      const folds = Int32Array.from(g.distances, (_, i) => Math.floor(i / (g.distances.length / 10)));
      const wrong = Array.from(g.distances, (d, i) => {
        const t = run.foldThresholds[folds[i]!]!;
        const same = g.same[i] === 1;
        return { i, d, t, same, margin: same ? d - t : t - d, wrong: same ? !(d < t) : d < t };
      }).filter((x) => x.wrong);
      const expected = (same: boolean) =>
        wrong
          .filter((x) => x.same === same)
          .sort((x, y) => y.margin - x.margin)
          .slice(0, 5)
          .map((x) => ({
            imageA: g.images[x.i]!.a,
            imageB: g.images[x.i]!.b,
            distance: x.d,
            threshold: x.t,
            fold: folds[x.i],
          }));
      const worst = report.groups[k]!.worstPairs!;
      expect(expected(false).length).toBeGreaterThan(0);
      expect(expected(true).length).toBeGreaterThan(0);
      expect(worst.falseMatches).toEqual(expected(false));
      expect(worst.falseNonMatches).toEqual(expected(true));
    });
  });

  it('are absent when the pairs name no images (a scores file)', async () => {
    const { report } = await sampleReport();
    expect(report.groups.every((g) => g.worstPairs === undefined)).toBe(true);
  });
});
