/** The training step of Algorithm 1: one pass (train-step.ts), micro-batched (micro-batches.ts), or phase by phase. */

export { fitMicroBatch, largestTensorPerImage } from './device-fit.ts';
export { microBatches, phasedStep, phasedStepReading } from './micro-batches.ts';
export {
  discriminatorStep,
  faceGradients,
  faceGradientsReading,
  faceLoss,
  faceStep,
  prepareStep,
  prepareStepReading,
} from './phases.ts';
export { readAwaited, readNow } from './reads.ts';
export {
  NonFiniteStepError,
  type StepContext,
  type StepMetrics,
  type TrainBatch,
  type TrainState,
} from './step-state.ts';
export { singlePassStep, trainStep, trainStepAsync } from './train-step.ts';
