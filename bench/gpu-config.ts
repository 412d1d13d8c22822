/** The configurations `npm run bench:gpu` times: the published network on a GPU, a tiny one on a software adapter. */
export interface GpuBenchConfig {
  readonly depth: 18 | 34 | 50 | 100;
  readonly width: number;
  readonly inputSize: number;
  readonly embeddingSize: number;
  readonly classes: number;
  readonly groups: number;
  readonly discriminatorWidth: number;
  /** Images per training step. */
  readonly batch: number;
  /** Images per GAM call. */
  readonly gamBatch: number;
  /** Images per embedding call (an audit's batch). */
  readonly embedBatch: number;
}

/** iResNet-18 at 112 pixels as the paper trains it (BUPT-Balancedface's groups), the discriminator a full ResNet-18. */
export const GPU_CONFIG: GpuBenchConfig = {
  depth: 18,
  width: 1,
  inputSize: 112,
  embeddingSize: 512,
  classes: 1000,
  groups: 4,
  discriminatorWidth: 1,
  batch: 32,
  gamBatch: 16,
  embedBatch: 128,
};

/** The smallest network and batches: SwiftShader emulates the GPU on the CPU, some 100 times slower than wasm. */
export const SOFTWARE_CONFIG: GpuBenchConfig = {
  depth: 18,
  width: 0.125,
  inputSize: 16,
  embeddingSize: 16,
  classes: 8,
  groups: 2,
  discriminatorWidth: 0.125,
  batch: 4,
  gamBatch: 4,
  embedBatch: 8,
};
