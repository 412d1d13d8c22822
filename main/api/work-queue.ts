/**
 * The service's engine work, one piece at a time (tfjs work in one process must not interleave: its
 * memory would add up), with interactive work first: a map the user just asked for runs before the
 * next chunk of a long background computation (a group's pair scores), so the window answers while
 * the background work goes on.
 */
export type WorkPriority = 'interactive' | 'background';

export interface WorkQueue {
  run<T>(priority: WorkPriority, work: () => Promise<T>): Promise<T>;
  /** Pieces waiting, by priority (for tests and diagnostics). */
  pending(): { interactive: number; background: number };
}

interface Piece {
  readonly work: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export function createWorkQueue(): WorkQueue {
  const waiting: Record<WorkPriority, Piece[]> = { interactive: [], background: [] };
  let busy = false;

  function next(): void {
    if (busy) return;
    const piece = waiting.interactive.shift() ?? waiting.background.shift();
    if (piece === undefined) return;
    busy = true;
    piece
      .work()
      .then(piece.resolve, piece.reject)
      .finally(() => {
        busy = false;
        next();
      });
  }

  return {
    run<T>(priority: WorkPriority, work: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        waiting[priority].push({ work, resolve: resolve as (value: unknown) => void, reject });
        next();
      });
    },
    pending: () => ({ interactive: waiting.interactive.length, background: waiting.background.length }),
  };
}
