/**
 * Models and checkpoints: the iResNet face network, the margin head, the GAM discriminator and the
 * checkpoint format. Every network is a spec (plain data) plus a flat map of tf.Variables named as
 * PyTorch's state_dict names them; forward functions are pure apart from BN running statistics.
 */

/** Batch-norm semantics shared by the networks (PyTorch's: eps 1e-5, momentum 0.1, unbiased running variance). */
export { BN_EPSILON, BN_MOMENTUM, type NormOptions } from './batch-norm.ts';
/**
 * `saveCheckpoint(dir, checkpoint, { storage })` writes `<name>.gabn/` atomically;
 * `loadCheckpoint(dir)` validates everything and builds the networks; `readCheckpoint(dir)` validates
 * and returns raw values (no tensors).
 */
export {
  type Checkpoint,
  type CheckpointFiles,
  type LoadedCheckpoint,
  loadCheckpoint,
  type OptimizerState,
  type ProvenanceInput,
  readCheckpoint,
  type SaveOptions,
  saveCheckpoint,
} from './checkpoint.ts';
export { CHECKPOINT_FORMAT_VERSION, type CheckpointJson } from './checkpoint-schema.ts';
/** `createDiscriminator(groups, { width }, seed)`; `discriminatorForward(d, gam, { training })` → group logits. */
export {
  createDiscriminator,
  type Discriminator,
  type DiscriminatorSpec,
  discriminatorForward,
  discriminatorParameterCount,
  discriminatorSpec,
} from './discriminator.ts';
/**
 * `createIResNet(spec, seed)` → { spec, params } with PyTorch's default initialisation;
 * `forward(model, x, { training })` → embedding [N, embeddingSize] from NHWC faces;
 * `iresnetParameterCount(spec)` equals PyTorch's sum(p.numel()).
 */
export {
  createIResNet,
  embedFeatures,
  type ForwardOptions,
  forward,
  type IResNet,
  iresnetLayout,
  iresnetParameterCount,
  lastStageFeatures,
} from './iresnet.ts';
/** `foldBatchNorm(model)` → inference form; `foldedForward(folded, x)` equals eval-mode forward. */
export { disposeFolded, type FoldedIResNet, foldBatchNorm, foldedForward } from './iresnet-folded.ts';
/** iResNet specs: `iresnetSpec({ depth: 18, width: 0.25, inputSize: 56 })`, `parseSpecName('iresnet18-w0.25-56')`. */
export {
  DEFAULT_EMBEDDING_SIZE,
  DEFAULT_INPUT_SIZE,
  finalFeatureSize,
  type IResNetDepth,
  type IResNetSpec,
  iresnetSpec,
  parseSpecName,
  specName,
} from './iresnet-spec.ts';
/**
 * `createMarginHead(embeddingSize, classes, seed)`; `cosines(head, e)` → cos θ;
 * `marginLogits(cos, labels, { kind, s, m })` → ArcFace/CosFace logits; `scaledLogits(cos, s)` → s·cos θ
 * (the GAM's P = softmax(s·cos θ)).
 */
export {
  arcfaceTarget,
  cosines,
  createMarginHead,
  l2Normalise,
  type MarginHead,
  type MarginKind,
  type MarginOptions,
  marginLogits,
  PAPER_MARGIN,
  scaledLogits,
} from './margin-head.ts';
/** Parameter maps: `trainableVariables(params)` for optimisers, `disposeParams(params)` to free them. */
export { disposeParams, type ParamMap, parameterCount, trainableVariables } from './parameters.ts';
