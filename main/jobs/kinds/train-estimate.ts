/** The 'train-estimate' job: the time per epoch of a run from a few probe steps of it, in a worker. */
import type { EpochEstimate, TrainEstimateParams } from '../../api/contract.ts';
import { loadEngine } from '../../engine/index.ts';
import { estimateEpoch } from '../../usecases/training/estimate.ts';
import type { JobContext } from '../protocol.ts';

export async function runTrainEstimateJob(
  params: TrainEstimateParams,
  context: JobContext,
): Promise<EpochEstimate> {
  const engine = await loadEngine();
  context.log(`backend ${engine.backend} (${engine.choice.why})`);
  const { probeSteps, ...training } = params;
  const estimate = await estimateEpoch(training, {
    ...(probeSteps === undefined ? {} : { probeSteps }),
    signal: context.signal,
    onProgress: (done, total) => context.progress(done, total, 'probe steps'),
  });
  context.log(
    `${estimate.network}: ${estimate.secondsPerStep.toFixed(2)} s per step (first ${estimate.firstStepSeconds.toFixed(2)} s), ${estimate.stepsPerEpoch} steps per epoch, validation ${estimate.validationSeconds.toFixed(1)} s: about ${estimate.secondsPerEpoch.toFixed(0)} s per epoch`,
  );
  return estimate;
}
