/**
 * Charts as inline SVG strings for the self-contained HTML report: no script, no network, readable
 * in any browser and printable. Colours are the Okabe-Ito palette, distinguishable with colour
 * vision deficiencies; every chart has axis labels and a legend in text.
 */
import { groupColours } from './figures/colormap.ts';
import { escapeHtml } from './html-escape.ts';

/** The colour of the i-th group (the palette repeats past its end). */
function groupColour(i: number): string {
  const colours = groupColours();
  return colours[i % colours.length]!;
}

const W = 520;
const H = 300;
const M = { left: 58, right: 16, top: 16, bottom: 46 };

function axisTicks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const ticks: number[] = [];
    for (let e = Math.ceil(Math.log10(min)); e <= Math.floor(Math.log10(max)); e++) ticks.push(10 ** e);
    return ticks;
  }
  const span = max - min;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 6) ?? step * 10;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / nice) * nice; t <= max + 1e-12; t += nice)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatTick(v: number, log: boolean): string {
  if (log) return v >= 1 ? String(v) : `1e${Math.round(Math.log10(v))}`;
  return Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)));
}

interface Axes {
  readonly x: (v: number) => number;
  readonly y: (v: number) => number;
  readonly svg: string;
}

function axes(
  xDomain: [number, number],
  yDomain: [number, number],
  labels: { x: string; y: string },
  scales: { xLog?: boolean; yLog?: boolean; xTicks?: boolean } = {},
): Axes {
  const [x0, x1] = xDomain;
  const [y0, y1] = yDomain;
  const tx = (v: number) => (scales.xLog ? Math.log10(v) : v);
  const ty = (v: number) => (scales.yLog ? Math.log10(v) : v);
  const x = (v: number) => M.left + ((tx(v) - tx(x0)) / (tx(x1) - tx(x0))) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - ((ty(v) - ty(y0)) / (ty(y1) - ty(y0))) * (H - M.top - M.bottom);
  const parts: string[] = [];
  for (const t of scales.xTicks === false ? [] : axisTicks(x0, x1, scales.xLog ?? false)) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${x(t)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${formatTick(t, scales.xLog ?? false)}</text>`,
    );
  }
  for (const t of axisTicks(y0, y1, scales.yLog ?? false)) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11">${formatTick(t, scales.yLog ?? false)}</text>`,
    );
  }
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#888"/>`,
  );
  parts.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${escapeHtml(labels.x)}</text>`,
  );
  parts.push(
    `<text transform="translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(labels.y)}</text>`,
  );
  return { x, y, svg: parts.join('') };
}

function frame(title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title>${body}</svg>`;
}

export interface BarWithInterval {
  readonly label: string;
  readonly value: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

/** Bars with 95% interval whiskers, e.g. per-group accuracy. */
export function barChart(title: string, bars: readonly BarWithInterval[], yLabel: string): string {
  const values = bars
    .flatMap((b) => [b.value, b.low, b.high])
    .filter((v): v is number => v !== null && Number.isFinite(v));
  const top = Math.max(...values, 1);
  const bottom = Math.min(...values, top);
  const span = Math.max(top - bottom, 1);
  const yDomain: [number, number] = [Math.max(0, bottom - span * 0.6), top + span * 0.3];
  const a = axes([0, bars.length], yDomain, { x: 'group', y: yLabel }, { xTicks: false });
  const slot = (W - M.left - M.right) / bars.length;
  const parts = bars.map((b, i) => {
    if (b.value === null) return '';
    const cx = a.x(i + 0.5);
    const bar = `<rect x="${cx - slot * 0.3}" y="${a.y(b.value)}" width="${slot * 0.6}" height="${a.y(yDomain[0]) - a.y(b.value)}" fill="${groupColour(i)}" opacity="0.85"/>`;
    const whisker =
      b.low !== null && b.high !== null
        ? `<line x1="${cx}" x2="${cx}" y1="${a.y(b.low)}" y2="${a.y(b.high)}" stroke="#222" stroke-width="1.5"/><line x1="${cx - 6}" x2="${cx + 6}" y1="${a.y(b.low)}" y2="${a.y(b.low)}" stroke="#222"/><line x1="${cx - 6}" x2="${cx + 6}" y1="${a.y(b.high)}" y2="${a.y(b.high)}" stroke="#222"/>`
        : '';
    const label = `<text x="${cx}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${escapeHtml(b.label)}</text>`;
    return bar + whisker + label;
  });
  return frame(title, a.svg + parts.join(''));
}

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** Lines, one per series, e.g. ROC and DET curves per group. */
export function lineChart(
  title: string,
  series: readonly Series[],
  options: {
    xLabel: string;
    yLabel: string;
    xDomain: [number, number];
    yDomain: [number, number];
    xLog?: boolean;
    yLog?: boolean;
    /** The corner the curves leave empty, so the legend hides none of them. */
    legendAt?: 'top-left' | 'bottom-left' | 'bottom-right';
  },
): string {
  const a = axes(options.xDomain, options.yDomain, { x: options.xLabel, y: options.yLabel }, options);
  const inside = ([x, y]: readonly [number, number]) =>
    Number.isFinite(x) &&
    Number.isFinite(y) &&
    x >= options.xDomain[0] &&
    x <= options.xDomain[1] &&
    y >= options.yDomain[0] &&
    y <= options.yDomain[1];
  const lines = series.map((s, i) => {
    const points = s.points.filter(inside).map(([x, y]) => `${a.x(x).toFixed(1)},${a.y(y).toFixed(1)}`);
    return points.length < 2
      ? ''
      : `<polyline points="${points.join(' ')}" fill="none" stroke="${groupColour(i)}" stroke-width="2"/>`;
  });
  const corner = options.legendAt ?? 'top-left';
  const legendX = corner === 'bottom-right' ? W - M.right - 130 : M.left + 10;
  const legendY = corner === 'top-left' ? M.top + 14 : H - M.bottom - 10 - (series.length - 1) * 15;
  const legend = series
    .map(
      (s, i) =>
        `<g transform="translate(${legendX} ${legendY + i * 15})"><rect width="14" height="3" y="-4" fill="${groupColour(i)}"/><text x="20" font-size="11">${escapeHtml(s.name)}</text></g>`,
    )
    .join('');
  return frame(title, a.svg + lines.join('') + legend);
}

/** Genuine and impostor distance histograms of one group, as outlined steps. */
export function histogramChart(
  title: string,
  edges: readonly number[],
  genuine: readonly number[],
  impostor: readonly number[],
): string {
  const total = (xs: readonly number[]) =>
    Math.max(
      1,
      xs.reduce((s, v) => s + v, 0),
    );
  const g = genuine.map((v) => v / total(genuine));
  const im = impostor.map((v) => v / total(impostor));
  const top = Math.max(...g, ...im, 0.01);
  const a = axes([edges[0]!, edges[edges.length - 1]!], [0, top * 1.1], {
    x: 'squared distance of normalised embeddings',
    y: 'share of pairs',
  });
  const step = (values: number[], colour: string, dash: string) => {
    const points: string[] = [];
    values.forEach((v, k) => {
      points.push(
        `${a.x(edges[k]!).toFixed(1)},${a.y(v).toFixed(1)}`,
        `${a.x(edges[k + 1]!).toFixed(1)},${a.y(v).toFixed(1)}`,
      );
    });
    return `<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2" stroke-dasharray="${dash}"/>`;
  };
  const legend = `<g transform="translate(${W - M.right - 120} ${M.top + 14})"><rect width="14" height="3" y="-4" fill="#0072B2"/><text x="20" font-size="11">genuine</text><rect width="14" height="3" y="11" fill="#D55E00"/><text x="20" y="15" font-size="11">impostor</text></g>`;
  return frame(title, a.svg + step(g, '#0072B2', '') + step(im, '#D55E00', '5 3') + legend);
}
