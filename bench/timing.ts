/** Small helpers shared by the benchmarks: medians after warm-up, and the PyTorch reference. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time in seconds of `run` over `repeats` runs after `warmup` runs. */
export async function timeIt(run: () => void | Promise<void>, repeats = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return median(times);
}

export type TorchResult = { ok: true; results: Record<string, number> } | { ok: false; reason: string };

/**
 * Runs a PyTorch reference script with Debian's python3 (python3-torch) and parses the JSON object
 * it prints last. The reference is timed in the same run as the project's code, on the same machine.
 */
export function runTorchReference(script: string, args: string[] = []): TorchResult {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return { ok: false, reason: `${python} not found` };
  const run = spawnSync(python, [script, ...args], { encoding: 'utf8' });
  if (run.status !== 0) {
    const why = run.stderr.includes("No module named 'torch'")
      ? 'PyTorch is not installed (apt-get install python3-torch)'
      : (run.stderr.trim().split('\n').slice(-1)[0] ?? `exit ${run.status}`);
    return { ok: false, reason: why };
  }
  const lastLine = run.stdout.trim().split('\n').slice(-1)[0] ?? '{}';
  return { ok: true, results: JSON.parse(lastLine) as Record<string, number> };
}

export function formatSeconds(s: number): string {
  return s < 1e-3 ? `${(s * 1e6).toFixed(0)} us` : s < 1 ? `${(s * 1e3).toFixed(1)} ms` : `${s.toFixed(2)} s`;
}

/** A table as text lines: the header, a rule, then the rows, columns padded to their widest cell. */
export function tableLines(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)];
}
