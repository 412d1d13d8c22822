import { describe, expect, it } from 'vitest';
import { createWorkQueue } from '../../../main/api/work-queue.ts';

/** A piece of work that records when it starts and ends, and takes a few event-loop turns. */
function piece(log: string[], name: string, fail = false) {
  return async () => {
    log.push(`start ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    log.push(`end ${name}`);
    if (fail) throw new Error(`${name} failed`);
    return name;
  };
}

describe('the service work queue', () => {
  it('runs one piece at a time, interactive pieces before waiting background ones', async () => {
    const queue = createWorkQueue();
    const log: string[] = [];
    const results = [
      queue.run('background', piece(log, 'b1')),
      queue.run('background', piece(log, 'b2')),
      queue.run('background', piece(log, 'b3')),
    ];
    // b1 is running; an interactive request arrives: it goes before b2 and b3.
    expect(queue.pending()).toEqual({ interactive: 0, background: 2 });
    results.push(queue.run('interactive', piece(log, 'i1')));
    expect(await Promise.all(results)).toEqual(['b1', 'b2', 'b3', 'i1']);
    expect(log).toEqual([
      'start b1',
      'end b1',
      'start i1',
      'end i1',
      'start b2',
      'end b2',
      'start b3',
      'end b3',
    ]);
  });

  it('goes on after a piece fails, and hands the failure to its caller only', async () => {
    const queue = createWorkQueue();
    const log: string[] = [];
    const failed = queue.run('interactive', piece(log, 'x', true));
    const next = queue.run('interactive', piece(log, 'y'));
    await expect(failed).rejects.toThrow('x failed');
    expect(await next).toBe('y');
    expect(queue.pending()).toEqual({ interactive: 0, background: 0 });
  });
});
