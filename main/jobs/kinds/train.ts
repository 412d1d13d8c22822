/**
 * The 'train' job: the training run use case in a worker, in the run folder the runner prepared
 * (config.json holds `gabn train`'s parameters), so a run launched from the app writes exactly what
 * `gabn train --out` writes. It starts the run, or continues it from its last checkpoint when it was
 * queued again after a stop. The use case owns the folder while it works (kind-traits.ts): it writes
 * status.json, metrics.jsonl and log.txt; this job only passes its progress, log lines and metrics
 * records on to the app.
 */
import type { TrainJobParams } from '../../api/contract.ts';
import { loadEngine } from '../../engine/index.ts';
import { resumeRun, type TrainOutcome } from '../../usecases/training/training-run.ts';
import type { JobContext } from '../protocol.ts';

export async function runTrainJob(_params: TrainJobParams, context: JobContext): Promise<TrainOutcome> {
  const engine = await loadEngine();
  context.log(`backend ${engine.backend} (${engine.choice.why})`);
  return resumeRun(context.runDir, {
    signal: context.signal,
    stopState: () => (context.stopReason() === 'close' ? 'interrupted' : 'stopped'),
    onProgress: (done, total) => context.progress(done, total, 'training steps'),
    onLog: (line) => context.log(line),
    onMetrics: (record) => context.metrics({ ...record }),
    ...(context.worker === undefined ? {} : { worker: context.worker }),
  });
}
