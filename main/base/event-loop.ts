/**
 * Long work in one process (a training loop, a bootstrap) must give the event loop a turn now and
 * then: on the cpu and wasm backends every await of a step resolves at once (a microtask), and
 * microtasks alone never let Node run what waits in the event loop — Ctrl-C's handler, the job
 * runner's Stop and Cancel over IPC, timers. Without a turn a run cannot be stopped once its images
 * are cached.
 */

/** Resolves on the event loop's next turn, after what is waiting there (signals, IPC, I/O) has run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
