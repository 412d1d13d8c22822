// @vitest-environment happy-dom
/**
 * The Audit view's tables with real report models (built by the report layer from synthetic
 * distances): every number shown is the model's, an infinite ratio reads as words naming the groups,
 * the comparison says what the paired bootstrap found, and a worst pair asks to be opened.
 */
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { ReportView } from '../../../main/api/contract.ts';
import { createPrng } from '../../../main/base/random.ts';
import { prepareAudit } from '../../../main/eval/audit-figures.ts';
import { bootstrapFigures, pairedBootstrap } from '../../../main/eval/bootstrap.ts';
import { buildAuditReport, comparisonReport } from '../../../main/report/audit-report.ts';
import { comparisonVerdict } from '../../../main/report/comparison-verdict.ts';
import AuditTable from '../../../renderer/src/components/audit/AuditTable.vue';
import ComparisonPanel from '../../../renderer/src/components/audit/ComparisonPanel.vue';
import FairnessSummary from '../../../renderer/src/components/audit/FairnessSummary.vue';
import GroupRatesTable from '../../../renderer/src/components/audit/GroupRatesTable.vue';
import WorstPairs from '../../../renderer/src/components/audit/WorstPairs.vue';

/** Three groups; only the first has impostors near its genuine pairs (the others: no false match). */
function groups(spread: number) {
  const random = createPrng(4);
  return ['group-a', 'group-b', 'group-c'].map((name, g) => {
    const same = Uint8Array.from({ length: 200 }, (_, i) => (i % 20 < 10 ? 1 : 0));
    const distances = Float64Array.from(same, (v) =>
      v
        ? 0.5 + (0.4 + spread * g) * random.next()
        : g === 0
          ? 0.6 + 1.2 * random.next()
          : 2.5 + random.next(),
    );
    const images = Array.from(same, (_, i) => ({ a: `${name}/${i}a.jpg`, b: `${name}/${i}b.jpg` }));
    return { name, distances, same, images };
  });
}

const provenance = {
  software: { name: 'gabn-studio', version: '0' },
  createdAt: '',
  commandLine: [],
  inputs: [],
};

async function reports() {
  const [a, b] = [prepareAudit(groups(0.15)), prepareAudit(groups(0.02))];
  const [ba, bb] = [
    await bootstrapFigures(a, { resamples: 40, seed: 1 }),
    await bootstrapFigures(b, { resamples: 40, seed: 1 }),
  ];
  const comparison = comparisonReport({
    result: await pairedBootstrap(a, b, { resamples: 40, seed: 1 }),
    candidate: { role: 'scores', path: '/x/b.csv', sha256: '0' },
  })!;
  return {
    a: buildAuditReport({
      audit: a,
      bootstrap: ba,
      explicitFolds: false,
      provenance,
      comparisonReport: comparison,
    }),
    b: buildAuditReport({ audit: b, bootstrap: bb, explicitFolds: false, provenance }),
    comparison,
  };
}

const cell = (v: number | null, lower: number | null, upper: number | null, digits = 2) =>
  `${v!.toFixed(digits)} [${lower!.toFixed(digits)}, ${upper!.toFixed(digits)}]`;

describe('the Audit view tables', () => {
  it("show the model's figures, and an infinite ratio as words naming the groups without errors", async () => {
    const { a } = await reports();
    const op = a.overall.operatingPoints[1]!;
    expect(op.fmrRatio.value).toBeNull();
    const summary = mount(FairnessSummary, { props: { report: a } });
    const text = summary.text();
    expect(text).toContain(
      cell(a.overall.std.value, a.overall.std.interval!.lower, a.overall.std.interval!.upper),
    );
    expect(text).toContain('infinite: group-b and group-c made no false matches');
    expect(text).not.toContain('∞');
    const fdr = op.fdr;
    expect(text.replace(/\s+/g, ' ')).toContain(
      `${fdr.value!.toFixed(3)} [${fdr.interval!.lower!.toFixed(3)}, ${fdr.interval!.upper!.toFixed(3)}]`,
    );

    const rates = mount(GroupRatesTable, { props: { report: a } });
    for (const g of a.groups) {
      expect(rates.get(`[data-testid="group-accuracy-${g.name}"]`).text()).toBe(
        cell(g.accuracy.value, g.accuracy.interval!.lower, g.accuracy.interval!.upper),
      );
    }
    const fmr = a.groups[0]!.operatingPoints[1]!.fmr;
    expect(rates.text()).toContain((100 * fmr.value!).toFixed(2));
  });

  it('lay several audits out as Table 4 and say what the comparison found', async () => {
    const { a, b, comparison } = await reports();
    const table = mount(AuditTable, { props: { reports: [a, b], labels: ['a.csv', 'b.csv'], shown: 0 } });
    const rows = table.findAll('tbody tr');
    expect(rows).toHaveLength(2);
    expect(rows[1]!.text()).toContain('b.csv');
    expect(rows[1]!.text()).toContain(b.groups[2]!.accuracy.value!.toFixed(2));
    await table.get('[data-testid="show-report-1"]').trigger('click');
    expect(table.emitted('show')).toEqual([[1]]);

    const verdict = comparisonVerdict(comparison, { a: 'a.csv', b: 'b.csv' });
    const panel = mount(ComparisonPanel, {
      props: { comparison: { against: 'a.csv', candidate: 'b.csv', report: comparison, verdict } },
    });
    expect(panel.get('[data-testid="comparison-headline"]').text()).toBe(verdict.headline);
    const std = comparison.std;
    expect(panel.text()).toContain(`[${std.interval.lower!.toFixed(2)}, ${std.interval.upper!.toFixed(2)}]`);
    expect(panel.text()).toContain(std.pValue.toFixed(3));
    for (const g of verdict.groups) expect(panel.text()).toContain(g.sentence);
  });

  it('offer each worst pair to open in Browse, with its distance and threshold', async () => {
    const { a } = await reports();
    const worst = a.groups[0]!.worstPairs!;
    const ref = (relative: string, id: number) => ({ id, relative, identity: relative, group: 'group-a' });
    const groupsOfView: NonNullable<ReportView['worstPairs'][number]> = [
      {
        group: 'group-a',
        falseMatches: worst.falseMatches.map((pair, k) => ({
          pair,
          a: ref(pair.imageA, 2 * k),
          b: ref(pair.imageB, 2 * k + 1),
        })),
        falseNonMatches: [],
      },
    ];
    const view = mount(WorstPairs, { props: { groups: groupsOfView, datasetId: 'd1', noFaces: false } });
    const first = view.get('[data-testid="false-match-group-a-0"]');
    expect(first.text()).toContain(worst.falseMatches[0]!.distance.toFixed(3));
    expect(first.text()).toContain(`< ${worst.falseMatches[0]!.threshold.toFixed(2)}`);
    expect(view.findAll('img').length).toBe(2 * worst.falseMatches.length);
    await first.trigger('click');
    expect(view.emitted('open')![0]![0]).toMatchObject({ pair: worst.falseMatches[0] });
    const bare = mount(WorstPairs, { props: { groups: groupsOfView, datasetId: 'd1', noFaces: true } });
    expect(bare.findAll('img')).toHaveLength(0);
  });
});
