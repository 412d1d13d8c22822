/**
 * Deterministic random numbers for weight initialisation: the same seed gives the same network on
 * every machine and backend (Math.random cannot be seeded; tf.random* differ between backends).
 */

/** A uniform generator on [0, 1) with 2^32 states per stream: SplitMix32 seeding into Mulberry32. */
export interface SeededRandom {
  /** Next uniform number in [0, 1). */
  next(): number;
}

export function seededRandom(seed: number): SeededRandom {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  // Mix the seed once so that nearby seeds (1, 2, 3...) start far apart.
  let state = mix32((seed >>> 0) ^ 0x9e3779b9);
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** `size` values uniform on [-bound, bound). */
export function uniformArray(random: SeededRandom, size: number, bound: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * random.next() - 1) * bound;
  return out;
}

/** `size` values from N(0, std²) by the Box-Muller transform. */
export function normalArray(random: SeededRandom, size: number, std: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i += 2) {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - random.next()));
    const angle = 2 * Math.PI * random.next();
    out[i] = std * radius * Math.cos(angle);
    if (i + 1 < size) out[i + 1] = std * radius * Math.sin(angle);
  }
  return out;
}

/**
 * PyTorch's default for nn.Conv2d and nn.Linear weights: kaiming_uniform_(a = √5), which is
 * U(-1/√fanIn, 1/√fanIn) (gain √(2/(1+5)) times √(3/fanIn)). Biases use the same bound.
 */
export function pytorchDefaultBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}
