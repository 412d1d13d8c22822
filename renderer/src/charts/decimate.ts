/**
 * A series of tens of thousands of steps drawn with a few hundred points: per bucket of consecutive
 * points, its lowest and its highest (min/max decimation), in step order. Unlike averaging, a spike
 * of the loss stays visible, and a flat stretch costs two points. Missing values (null: a group
 * absent from a batch, a module that is off) stay gaps: a bucket of missing values gives one gap.
 */

export interface ChartPoint {
  readonly x: number;
  readonly y: number | null;
}

/**
 * At most 2·buckets + 2 points of (xs[i], ys[i]): the first and the last, and each bucket's minimum
 * and maximum, in the order of the xs (which must not decrease). Fewer points than that come back
 * whole.
 */
export function minMaxDecimate(
  xs: ArrayLike<number>,
  ys: ArrayLike<number | null>,
  buckets: number,
): ChartPoint[] {
  const n = Math.min(xs.length, ys.length);
  const point = (i: number): ChartPoint => ({ x: xs[i]!, y: finite(ys[i]) });
  if (n <= 2 * buckets + 2) return Array.from({ length: n }, (_, i) => point(i));
  const out: ChartPoint[] = [point(0)];
  const inner = n - 2;
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets);
    let low = -1;
    let high = -1;
    for (let i = start; i < end; i++) {
      const y = finite(ys[i]);
      if (y === null) continue;
      if (low === -1 || y < finite(ys[low])!) low = i;
      if (high === -1 || y > finite(ys[high])!) high = i;
    }
    if (low === -1) {
      if (end > start) out.push({ x: xs[start]!, y: null });
      continue;
    }
    const [first, second] = low <= high ? [low, high] : [high, low];
    out.push(point(first));
    if (second !== first) out.push(point(second));
  }
  out.push(point(n - 1));
  return out;
}

function finite(y: number | null | undefined): number | null {
  return typeof y === 'number' && Number.isFinite(y) ? y : null;
}
