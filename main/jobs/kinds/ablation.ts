/**
 * The 'ablation' job: the comparison that ends an ablation queued from the app. It waits in the
 * queue for its runs (the runner starts it once they are done), then audits each run's final
 * checkpoint on the same test pairs and writes ablation.html and ablation.json into its own run
 * folder, as `gabn ablate` writes them.
 */
import path from 'node:path';
import type { AblationJobParams, AblationResult } from '../../api/contract.ts';
import { GabnError } from '../../base/errors.ts';
import { loadEngine } from '../../engine/index.ts';
import { readRunStatus } from '../../runs/run-folder.ts';
import { compareAblationRuns, type TrainedRun } from '../../usecases/ablation.ts';
import type { JobContext } from '../protocol.ts';

export async function runAblationJob(
  params: AblationJobParams,
  context: JobContext,
): Promise<AblationResult> {
  await loadEngine();
  const runsDir = path.dirname(context.runDir);
  const trained: TrainedRun[] = params.runs.map((run) => {
    const runDir = path.join(runsDir, run.id);
    const status = readRunStatus(runDir);
    const checkpoint = status?.training?.checkpoint;
    if (status?.state !== 'succeeded' || checkpoint === undefined) {
      throw new GabnError(
        'usage',
        `${run.label} has not trained to its end (it is ${status?.state ?? 'missing'})`,
        {
          file: runDir,
          expected: 'every run of the ablation succeeded: resume the others, then compare again',
        },
      );
    }
    return {
      preset: run.preset,
      seed: run.seed,
      label: run.label,
      checkpoint: path.join(runDir, checkpoint),
    };
  });
  context.log(`comparing ${trained.length} runs on ${params.val}`);
  const outcome = await compareAblationRuns(
    trained,
    {
      val: params.val,
      out: context.runDir,
      ...(params.bootstrap === undefined ? {} : { bootstrap: params.bootstrap }),
      commandLine: ['GABN Studio', 'ablation', ...params.runs.map((r) => r.id)],
    },
    {
      signal: context.signal,
      onProgress: (phase, done, total) => context.progress(done, total, phase),
      onLog: (line) => context.log(line),
    },
  );
  return { rows: outcome.rows, files: outcome.files.map((f) => path.relative(context.runDir, f)) };
}
