/**
 * A one-line progress display on stderr: done/total, rate and ETA, redrawn at most ten times a
 * second. On a terminal it rewrites the line; elsewhere (logs, CI) it prints a line every 10% of the
 * work, at most one every two seconds.
 */
import { formatDuration } from '../base/durations.ts';

export interface ProgressLine {
  update(done: number, total: number): void;
  done(): void;
}

export function progressLine(stream: NodeJS.WritableStream, label: string): ProgressLine {
  const start = Date.now();
  const tty = (stream as NodeJS.WriteStream).isTTY === true;
  let lastDraw = 0;
  let lastDecile = -1;
  let drawn = false;
  // Work done before the line was made (a resumed run's earlier steps) is not part of the rate.
  let first: number | undefined;
  return {
    update(done, total) {
      const now = Date.now();
      const elapsed = (now - start) / 1000;
      first ??= done;
      const count = `${label}: ${done}/${total} (${total > 0 ? Math.floor((100 * done) / total) : 100}%)`;
      // A rate needs time to measure: within the first second (the line is made when the first
      // update arrives) it would be the count over a few microseconds.
      const rate = (done - first) / elapsed;
      const text =
        elapsed >= 1 && rate > 0
          ? `${count}, ${rate.toFixed(1)}/s, ETA ${formatDuration((total - done) / rate)}`
          : count;
      if (tty) {
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        stream.write(`\r${text}\u001b[K`);
        drawn = true;
      } else {
        // Logs get a line per tenth of the work, at most one every two seconds, and the last one.
        const decile = total > 0 ? Math.floor((10 * done) / total) : 10;
        if (done < total && (decile === lastDecile || now - lastDraw < 2000)) return;
        lastDecile = decile;
        lastDraw = now;
        stream.write(`${text}\n`);
      }
    },
    done() {
      if (tty && drawn) stream.write('\n');
    },
  };
}

/** Progress of work in named phases (embedding, bootstrap, …): one line per phase, in turn. */
export function phasedProgress(stream: NodeJS.WritableStream): {
  update(phase: string, done: number, total: number): void;
  done(): void;
} {
  let current: { phase: string; line: ProgressLine } | undefined;
  return {
    update(phase, done, total) {
      if (current?.phase !== phase) {
        current?.line.done();
        current = { phase, line: progressLine(stream, phase) };
      }
      current.line.update(done, total);
    },
    done: () => current?.line.done(),
  };
}
