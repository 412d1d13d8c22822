/** The training step of Algorithm 1: one pass (train-step.ts), micro-batched (micro-batches.ts), or phase by phase. */
export { microBatches, phasedStep } from './micro-batches.ts';
export { discriminatorStep, faceGradients, faceLoss, faceStep, prepareStep } from './phases.ts';
export {
  NonFiniteStepError,
  type StepContext,
  type StepMetrics,
  type TrainBatch,
  type TrainState,
} from './step-state.ts';
export { singlePassStep, trainStep } from './train-step.ts';
