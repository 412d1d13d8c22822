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
    line.update(1, 200);
    expect(lines).toEqual(['steps: 1/200 (0%)\n']);
    vi.setSystemTime(1_010_000);
    line.update(20, 200);
    // 20 steps in 10 s: 2.0/s, 180 left take 90 s.
    expect(lines[1]).toBe('steps: 20/200 (10%), 2.0/s, ETA 1m30s\n');
    vi.setSystemTime(1_100_000);
    line.update(200, 200);
    expect(lines[2]).toBe('steps: 200/200 (100%), 2.0/s, ETA 0s\n');
  });
});
