/**
 * The fairness report as one self-contained HTML file: inline styles, charts as inline SVG, no
 * script, no network. Every string that came from input (group names, file paths) is escaped.
 * Several reports (checkpoints audited on the same pairs) are shown side by side like the paper's
 * Table 4; the first one's charts and details follow. Printed (PDF), every heading stays with what
 * follows it and no chart or table is cut in two.
 */
import { writeFileAtomic } from '../base/atomic-files.ts';
import { comparisonVerdict } from './comparison-verdict.ts';
import { errorlessGroups, formatInterval, formatNumber, ratioText, zeroRateGroups } from './figure-text.ts';
import { escapeHtml as e } from './html-escape.ts';
import type { AuditReport, ComparisonReport, Estimate } from './report-model.ts';
import { barChart, histogramChart, lineChart } from './svg-charts.ts';

export interface GroupAttentionFigure {
  readonly group: string;
  readonly averageFacePng?: Uint8Array;
  readonly averageGamPng: Uint8Array;
  readonly averageGamOnGreyPng?: Uint8Array;
  /** The mean share of attention on the network's stride lattice, and a uniform map's share. */
  readonly lattice?: { readonly share: Estimate; readonly area: number };
}

export interface HtmlOptions {
  readonly title?: string;
  /** Names of the reports in the side-by-side table (default: their first input's file name). */
  readonly labels?: readonly string[];
  /**
   * Average attention maps per group, as PNG data, when a model was audited. The map is drawn over
   * the average face unless faces are left out; averageGamOnGreyPng is the same map over grey.
   */
  readonly attention?: readonly GroupAttentionFigure[];
  /** Leave every face image out (biometric data). */
  readonly noFaces?: boolean;
  /**
   * Paired comparisons of reports 2, 3, … (B) against the first (A), in that order. Default: the
   * first report's own comparison, when it has one.
   */
  readonly comparisons?: readonly ComparisonReport[];
  /** Tables of figures computed elsewhere (an ablation's mechanism figures), shown after the side-by-side table. */
  readonly tables?: readonly TextTable[];
}

/** A table of already formatted cells, one row per report or run. */
export interface TextTable {
  readonly caption: string;
  readonly columns: readonly string[];
  readonly rows: readonly { readonly label: string; readonly cells: readonly string[] }[];
}

function textTable(t: TextTable): string {
  const head = `<tr>${t.columns.map((c) => `<th scope="col">${e(c)}</th>`).join('')}</tr>`;
  const rows = t.rows.map(
    (r) => `<tr><th scope="row">${e(r.label)}</th>${r.cells.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`,
  );
  return `<table><caption>${e(t.caption)}</caption>${head}${rows.join('')}</table>`;
}

function est(x: Estimate, digits = 2, scale = 1): string {
  const v = x.value === null ? null : x.value * scale;
  const interval =
    x.interval === null ? '' : ` <span class="ci">${e(formatInterval(x.interval, digits, scale))}</span>`;
  return `${formatNumber(v, digits)}${interval}`;
}

const pct = (x: Estimate) => est(x, 3, 100);

/** A max/min ratio: a number, or words naming the groups that make it infinite. */
function ratio(x: Estimate, zeroGroups: readonly string[], what: string): string {
  const t = ratioText(x, zeroGroups, what);
  return `${e(t.value)}${t.interval ? ` <span class="ci">${e(t.interval)}</span>` : ''}`;
}

function labelOf(report: AuditReport, k: number, options: HtmlOptions): string {
  const given = options.labels?.[k];
  if (given) return given;
  const input = report.provenance.inputs[0];
  return input ? (input.path.split(/[\\/]/).pop() ?? input.path) : `audit ${k + 1}`;
}

function sideBySide(reports: readonly AuditReport[], options: HtmlOptions): string {
  const groups = reports[0]!.groups.map((g) => g.name);
  const head = `<tr><th scope="col">audited</th>${groups.map((g) => `<th scope="col">${e(g)}</th>`).join('')}<th scope="col">Avg</th><th scope="col">STD</th><th scope="col">SER</th></tr>`;
  const rows = reports.map((r, k) => {
    const cells = groups.map((g) => {
      const group = r.groups.find((x) => x.name === g);
      return `<td>${group ? est(group.accuracy) : '—'}</td>`;
    });
    return `<tr><th scope="row">${e(labelOf(r, k, options))}</th>${cells.join('')}<td>${est(r.overall.average)}</td><td>${est(r.overall.std)}</td><td>${ratio(r.overall.ser, errorlessGroups(r), 'errors')}</td></tr>`;
  });
  return `<table><caption>Verification accuracy (%) per group, as the paper's tables report it, with 95% intervals</caption>${head}${rows.join('')}</table>`;
}

function summary(r: AuditReport): string {
  const o = r.overall;
  const rows = o.operatingPoints
    .map(
      (op, k) =>
        `<tr><th scope="row">${op.targetFmr}</th><td>${est(op.threshold, 3)}</td><td>${est(op.fdr, 3)}</td><td>${est(op.garbe, 3)}</td><td>${ratio(op.fmrRatio, zeroRateGroups(r, k, 'fmr'), 'false matches')}</td><td>${ratio(op.fnmrRatio, zeroRateGroups(r, k, 'fnmr'), 'false non-matches')}</td></tr>`,
    )
    .join('');
  return `<table class="summary"><caption>Fairness</caption>
<tr><th scope="row">Average accuracy (%)</th><td>${est(o.average)}</td></tr>
<tr><th scope="row">STD of group accuracies (points)</th><td>${est(o.std)}</td></tr>
<tr><th scope="row">SER (max error / min error)</th><td>${ratio(o.ser, errorlessGroups(r), 'errors')}</td></tr></table>
<table><caption>At one global threshold set on the pooled impostors of all groups</caption>
<tr><th scope="col">target FMR</th><th scope="col">threshold</th><th scope="col">FDR (α 0.5)</th><th scope="col">GARBE</th><th scope="col">max/min FMR</th><th scope="col">max/min FNMR</th></tr>${rows}</table>`;
}

function groupTable(r: AuditReport): string {
  const fmrs = r.overall.operatingPoints.map((op) => op.targetFmr);
  const fars = r.groups[0]?.tarAtFar.map((t) => t.far) ?? [];
  const head = `<tr><th scope="col">group</th><th scope="col">pairs</th><th scope="col">accuracy (%)</th>${fmrs.map((f) => `<th scope="col">FMR @ ${f} (%)</th><th scope="col">FNMR @ ${f} (%)</th>`).join('')}${fars.map((f) => `<th scope="col">TAR @ FAR ${f} (%)</th>`).join('')}</tr>`;
  const rows = r.groups.map(
    (g) =>
      `<tr><th scope="row">${e(g.name)}</th><td>${g.pairs} (${g.positives}+ / ${g.negatives}−)</td><td>${est(g.accuracy)}</td>${g.operatingPoints.map((op) => `<td>${pct(op.fmr)}</td><td>${pct(op.fnmr)}</td>`).join('')}${g.tarAtFar.map((t) => `<td>${pct(t.tar)}</td>`).join('')}</tr>`,
  );
  return `<table>${head}${rows.join('')}</table>`;
}

function charts(r: AuditReport): string {
  const accuracy = barChart(
    'Verification accuracy per group with 95% intervals',
    r.groups.map((g) => ({
      label: g.name,
      value: g.accuracy.value,
      low: g.accuracy.interval?.lower ?? null,
      high: g.accuracy.interval?.upper ?? null,
    })),
    'accuracy (%)',
  );
  const floor = 1e-4;
  const roc = lineChart(
    'ROC per group',
    r.groups.map((g) => ({
      name: g.name,
      points: g.roc.fmr.map((f, i) => [Math.max(f, floor), g.roc.tar[i]!] as const),
    })),
    {
      xLabel: 'false match rate',
      yLabel: 'true accept rate',
      xDomain: [floor, 1],
      yDomain: [0, 1],
      xLog: true,
      legendAt: 'bottom-right',
    },
  );
  const det = lineChart(
    'DET per group',
    r.groups.map((g) => ({
      name: g.name,
      points: g.roc.fmr.map((f, i) => [Math.max(f, floor), Math.max(g.roc.fnmr[i]!, floor)] as const),
    })),
    {
      xLabel: 'false match rate',
      yLabel: 'false non-match rate',
      xDomain: [floor, 1],
      yDomain: [floor, 1],
      xLog: true,
      yLog: true,
      legendAt: 'bottom-left',
    },
  );
  const histograms = r.groups
    .map(
      (g) =>
        `<figure>${histogramChart(`Score distributions, ${g.name}`, g.scoreHistogram.binEdges, g.scoreHistogram.genuine, g.scoreHistogram.impostor)}<figcaption>${e(g.name)}: genuine and impostor distances</figcaption></figure>`,
    )
    .join('');
  return `<div class="charts"><figure>${accuracy}<figcaption>Accuracy per group; whiskers: 95% bootstrap intervals</figcaption></figure>
<figure>${roc}<figcaption>ROC: true accept rate against false match rate (log scale)</figcaption></figure>
<figure>${det}<figcaption>DET: false non-match rate against false match rate (log-log)</figcaption></figure></div>
<h2>Score distributions</h2><div class="charts">${histograms}</div>`;
}

function attentionSection(options: HtmlOptions): string {
  if (!options.attention || options.attention.length === 0) return '';
  const dataUri = (png: Uint8Array) => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
  const cells = options.attention
    .map((a) => {
      const face =
        !options.noFaces && a.averageFacePng
          ? `<img alt="average face of ${e(a.group)}" src="${dataUri(a.averageFacePng)}">`
          : '';
      // Over the face, the map shows the face: without faces, the map over grey.
      const gam = options.noFaces && a.averageGamOnGreyPng ? a.averageGamOnGreyPng : a.averageGamPng;
      const lattice = a.lattice
        ? `<br><span class="ci">${est(a.lattice.share, 1, 100)}% on the stride lattice (uniform: ${(100 * a.lattice.area).toFixed(1)}%)</span>`
        : '';
      return `<figure>${face}<img alt="average attention map of ${e(a.group)}" src="${dataUri(gam)}"><figcaption>${e(a.group)}${lattice}</figcaption></figure>`;
    })
    .join('');
  return `<h2>Average gradient attention per group</h2><div class="charts">${cells}</div>`;
}

function comparisonTable(c: ComparisonReport, names: { a: string; b: string }): string {
  const cell = (observed: number | null, interval: { lower: number | null; upper: number | null }) =>
    `${formatNumber(observed, 3)} <span class="ci">${e(formatInterval(interval, 3))}</span>`;
  const fair = (name: string, d: ComparisonReport['std']) =>
    `<tr><th scope="row">${name}</th><td>${cell(d.observed, d.interval)}</td><td>${d.pValue.toFixed(4)}</td><td>${d.fairer ? 'yes' : 'no evidence'}</td></tr>`;
  const plain = (
    name: string,
    observed: number | null,
    interval: { lower: number | null; upper: number | null },
  ) => `<tr><th scope="row">${name}</th><td>${cell(observed, interval)}</td><td>—</td><td>—</td></tr>`;
  const groups = (c.groups ?? []).map((g) =>
    plain(`accuracy of ${e(g.name)} (points)`, g.observed, g.interval),
  );
  const verdict = comparisonVerdict(c, names);
  const sentences = [verdict.headline, verdict.std, verdict.ser, ...verdict.groups.map((g) => g.sentence)];
  return `<table><caption>Is ${e(names.b)} fairer than ${e(names.a)}? Paired bootstrap on the same pairs (${c.resamples} resamples)</caption>
<tr><th scope="col">difference B − A</th><th scope="col">observed [95% interval]</th><th scope="col">one-sided p</th><th scope="col">B fairer (p &lt; 0.05)</th></tr>${fair('STD (points)', c.std)}${fair('SER', c.ser)}${plain('Avg accuracy (points)', c.average.observed, c.average.interval)}${groups.join('')}</table>
<ul class="verdict">${sentences.map((t) => `<li>${e(t)}</li>`).join('')}</ul>`;
}

function comparisons(reports: readonly AuditReport[], options: HtmlOptions): string {
  const first = reports[0]!;
  const list = options.comparisons ?? (first.comparison === null ? [] : [first.comparison]);
  return list
    .map((c, k) => {
      const b = options.labels?.[k + 1] ?? c.candidate.path.split(/[\\/]/).pop() ?? c.candidate.path;
      return comparisonTable(c, { a: labelOf(first, 0, options), b });
    })
    .join('');
}

function provenance(r: AuditReport): string {
  const p = r.provenance;
  const inputs = p.inputs
    .map(
      (i) =>
        `<tr><th scope="row">${e(i.role)}</th><td><code>${e(i.path)}</code></td><td><code>${e(i.sha256)}</code></td></tr>`,
    )
    .join('');
  const v = r.protocol.verification;
  const boot = r.protocol.bootstrap;
  return `<h2>Protocol and provenance</h2>
<p>Verification: ${e(v.distance)}, ${v.thresholds.count} thresholds from ${v.thresholds.start} step ${v.thresholds.step}, “${e(v.decision)}”, folds ${e(v.folds)}, ${e(v.foldSelection)}. STD: ${e(r.protocol.fairness.std)} standard deviation; SER: ${e(r.protocol.fairness.ser)}.
${boot ? `Intervals: ${boot.resamples} bootstrap resamples (seed ${boot.seed}), ${e(boot.scheme)}, ${e(boot.interval)}.` : 'No bootstrap intervals.'}</p>
<table><caption>Inputs</caption><tr><th scope="col">role</th><th scope="col">path</th><th scope="col">sha256</th></tr>${inputs}</table>
<p>${e(p.software.name)} ${e(p.software.version)}${p.backend ? `, ${e(p.backend)} backend` : ''}, ${e(p.createdAt)}. Command: <code>${e(p.commandLine.join(' '))}</code></p>`;
}

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;max-width:1120px;margin:24px auto;padding:0 20px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 18px}table{border-collapse:collapse;margin:10px 0 18px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0}th,td{border:1px solid #d6d6d6;padding:4px 8px;text-align:right}
th[scope=row]{text-align:left;white-space:nowrap}th{background:#f4f5f7}.ci{color:#666;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:12px;color:#555}
img{image-rendering:pixelated;width:224px;height:224px;margin-right:4px}code{font-size:12px;word-break:break-all}
.note{background:#f4f5f7;border-left:3px solid #0072B2;padding:6px 10px}.verdict{margin:4px 0 18px;padding-left:20px}
h2,caption{break-after:avoid}figure,table,tr,.verdict li{break-inside:avoid}
@media print{body{margin:0;padding:0;max-width:none;font-size:11px}th,td{padding:3px 5px}.ci{font-size:10px}svg{width:330px;height:auto}img{width:150px;height:150px}}`;

export function renderHtmlReport(reports: readonly AuditReport[], options: HtmlOptions = {}): string {
  if (reports.length === 0) throw new Error('renderHtmlReport needs at least one report');
  const first = reports[0]!;
  const title = options.title ?? 'Fairness audit';
  const groups = first.groups.map((g) => g.name).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${e(title)}</title><style>${STYLE}</style></head>
<body><h1>${e(title)}</h1><p class="sub">${first.groups.length} groups (${e(groups)}), ${first.groups.reduce((n, g) => n + g.pairs, 0)} pairs. Report schema ${first.schemaVersion}.</p>
${options.noFaces ? '<p class="note">Face images are left out of this report.</p>' : ''}
<h2>Summary</h2>${reports.length > 1 ? sideBySide(reports, options) : ''}${(options.tables ?? []).map(textTable).join('')}${summary(first)}${comparisons(reports, options)}
<h2>Per group</h2>${groupTable(first)}${charts(first)}${attentionSection(options)}${provenance(first)}
</body></html>
`;
}

export async function writeHtmlReport(
  file: string,
  reports: readonly AuditReport[],
  options: HtmlOptions = {},
): Promise<void> {
  await writeFileAtomic(file, renderHtmlReport(reports, options));
}
