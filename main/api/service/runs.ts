/**
 * The Runs view's side of the service: every training run of the workspace with its epochs'
 * validation and checkpoints, its metrics read incrementally (a long run's metrics.jsonl is read
 * once, then only what it gained), its log's tail, and its checkpoint exported for auditing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import { logTail, readMetricsFrom } from '../../runs/run-folder.ts';
import { STRIP_INDEX } from '../../usecases/training/attention-strip.ts';
import { resolveContained } from '../containment.ts';
import type {
  EpochRecord,
  JobInfo,
  MetricsRecord,
  RunExportRequest,
  RunMetrics,
  RunMetricsRequest,
  RunSummary,
  StripIndex,
} from '../contract.ts';

/** What was read of one run's metrics.jsonl. */
interface MetricsCursor {
  /** Byte offset of the next read. */
  offset: number;
  /** Records read so far. */
  count: number;
  epochs: EpochRecord[];
}

/** Runs whose metrics cursors are kept (the runs a person looks at). */
const KEPT = 512;

export function createRuns(workspace: string, runner: JobRunner) {
  const cursors = new Map<string, MetricsCursor>();

  /** Brings a run's cursor up to date; `records` receives what it gained. */
  function advance(runDir: string, gained?: (records: MetricsRecord[]) => void): MetricsCursor {
    let cursor = cursors.get(runDir) ?? { offset: 0, count: 0, epochs: [] };
    let read = readMetricsFrom(runDir, cursor.offset);
    if (read.next < cursor.offset) {
      // A resume cut the file back: read it again.
      cursor = { offset: 0, count: 0, epochs: [] };
      read = readMetricsFrom(runDir, 0);
    }
    const records = read.records as unknown as MetricsRecord[];
    cursor = {
      offset: read.next,
      count: cursor.count + records.length,
      epochs: [...cursor.epochs, ...records.filter((r): r is EpochRecord => r.type === 'epoch')],
    };
    cursors.delete(runDir);
    cursors.set(runDir, cursor);
    if (cursors.size > KEPT) cursors.delete(cursors.keys().next().value!);
    gained?.(records);
    return cursor;
  }

  function checkpointsOf(runDir: string): string[] {
    const dir = path.join(runDir, 'checkpoints');
    if (!existsSync(dir)) return [];
    const step = (name: string) => Number(/-(\d+)\.gabn$/.exec(name)?.[1] ?? 0);
    // Epoch checkpoints in order, a step checkpoint (a stop part way) where it falls between them.
    return readdirSync(dir)
      .filter((name) => /^(epoch|step)-\d+\.gabn$/.test(name))
      .sort((a, b) => {
        const order = (name: string) => (name.startsWith('epoch') ? step(name) : 0);
        return order(a) - order(b) || step(a) - step(b);
      })
      .map((name) => `checkpoints/${name}`);
  }

  function summary(job: JobInfo): RunSummary {
    const params = job.params as { preset?: string; config?: { epochs?: number } };
    return {
      job,
      ...(params.preset ? { preset: params.preset } : {}),
      ...(params.config?.epochs ? { epochs: params.config.epochs } : {}),
      epochRecords: advance(job.runDir).epochs,
      checkpoints: checkpointsOf(job.runDir),
    };
  }

  return {
    list: (): RunSummary[] =>
      runner
        .list()
        .filter((job) => job.kind === 'train')
        .map(summary),
    metrics(request: RunMetricsRequest): RunMetrics {
      const { runDir } = runner.get(request.jobId);
      const from = request.from ?? 0;
      const held = cursors.get(runDir);
      // The common case, a client that holds what the cursor read: only what the file gained.
      if (held === undefined ? from === 0 : held.count === from) {
        let records: MetricsRecord[] = [];
        const cursor = advance(runDir, (gained) => {
          records = gained;
        });
        if (cursor.count === from + records.length) return { records, next: cursor.count };
      }
      const all = readMetricsFrom(runDir, 0).records as unknown as MetricsRecord[];
      return { records: all.slice(from), next: all.length };
    },
    strip(id: string): StripIndex | null {
      const file = path.join(runner.get(id).runDir, STRIP_INDEX);
      if (!existsSync(file)) return null;
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as StripIndex;
      } catch {
        // being replaced: the next read finds it whole (it is written atomically)
        return null;
      }
    },
    log: (request: { jobId: string; lines?: number }) =>
      logTail(runner.get(request.jobId).runDir, request.lines ?? 40),
    /** The export job's parameters: the run's checkpoint into the workspace's checkpoints, float16. */
    exportJob(request: RunExportRequest): JobInfo {
      const job = runner.get(request.jobId);
      const chosen = request.checkpoint ?? job.training?.checkpoint ?? checkpointsOf(job.runDir).at(-1);
      if (chosen === undefined) {
        throw new GabnError('usage', `the run '${job.id}' has no checkpoint yet`, {
          expected: 'a run that finished an epoch, or was stopped',
        });
      }
      const source = resolveContained([job.runDir], chosen, job.runDir);
      const folder = path.join(workspace, 'checkpoints');
      const stem = `${job.id}-${path.basename(source, '.gabn')}`;
      let out = path.join(folder, `${stem}.gabn`);
      for (let k = 2; existsSync(out); k++) out = path.join(folder, `${stem}-${k}.gabn`);
      return runner.start('export-checkpoint', { source, out, float16: true });
    },
  };
}
