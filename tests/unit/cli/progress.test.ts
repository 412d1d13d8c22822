import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressLine } from '../../../main/cli/progress.ts';

function capture(): { stream: NodeJS.WritableStream; lines: string[] } {
  const lines: string[] = [];
  const stream = { write: (text: string) => lines.push(text) } as unknown as NodeJS.WritableStream;
  return { stream, lines };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the progress line', () => {
  it('gives no rate before it can measure one, then the rate and the time left', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
    const { stream, lines } = capture();
    const line = progressLine(stream, 'steps');
    line.update(0, 200);
    expect(lines).toEqual(['steps: 0/200 (0%)\n']);
    vi.setSystemTime(1_010_000);
    line.update(20, 200);
    // 20 steps in 10 s: 2.0/s, 180 left take 90 s.
    expect(lines[1]).toBe('steps: 20/200 (10%), 2.0/s, ETA 1m30s\n');
    vi.setSystemTime(1_100_000);
    line.update(200, 200);
    expect(lines[2]).toBe('steps: 200/200 (100%), 2.0/s, ETA 0s\n');
  });

  it('leaves the work done before it began (a resumed run) out of the rate', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
    const { stream, lines } = capture();
    const line = progressLine(stream, 'steps');
    line.update(64, 200);
    vi.setSystemTime(1_008_000);
    line.update(80, 200);
    // 16 steps in 8 s since the resume: 2.0/s, 120 left take 60 s.
    expect(lines).toEqual(['steps: 64/200 (32%)\n', 'steps: 80/200 (40%), 2.0/s, ETA 1m00s\n']);
  });
});
