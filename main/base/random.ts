/**
 * The project's one seeded generator, and the draws built on it. Math.random cannot be seeded and
 * tf.random* differ between backends, yet a run must draw the same masks on every machine and again
 * after it resumes, the synthetic faces of a seed must be the same everywhere, and a bootstrap
 * interval must not change from one audit to the next. So every random number of the project comes
 * from here, and the generator's whole state is four plain integers that a checkpoint can store.
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, 128-bit state, PractRand-clean), seeded
 * from one integer by SplitMix32 and warmed up by 12 draws as its author recommends.
 */
import { GabnError } from './errors.ts';

/** The generator state: four unsigned 32-bit integers. */
export type PrngState = readonly [number, number, number, number];

export interface Prng {
  /** A uniform number in [0, 1) with 32 random bits. */
  next(): number;
  /** A uniform integer in [low, high], both inclusive. */
  int(low: number, high: number): number;
  /** The current state: `restorePrng(state)` continues the same sequence. */
  state(): PrngState;
}

function splitMix32(seed: number): () => number {
  let z = seed >>> 0;
  return () => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
}

/** A generator for `seed` (an integer; only its low 32 bits count). */
export function createPrng(seed: number): Prng {
  if (!Number.isInteger(seed)) {
    throw new GabnError('config', `the random seed must be an integer, got ${seed}`, {
      expected: 'an integer',
    });
  }
  const mix = splitMix32(seed);
  const prng = restorePrng([mix(), mix(), mix(), mix()]);
  for (let i = 0; i < 12; i++) prng.next();
  return prng;
}

/** A generator that continues from a saved state. */
export function restorePrng(state: PrngState): Prng {
  if (state.length !== 4 || !state.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
    throw new GabnError('malformed', `invalid random generator state ${JSON.stringify(state)}`, {
      expected: 'four unsigned 32-bit integers',
    });
  }
  let [a, b, c, d] = state;
  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  return {
    next: () => nextUint32() / 4294967296,
    int(low, high) {
      if (!Number.isInteger(low) || !Number.isInteger(high) || high < low) {
        throw new GabnError('internal', `invalid integer range [${low}, ${high}]`);
      }
      // The bias of floor(u·n) is below n / 2^32: negligible for the ranges of image sizes.
      return low + Math.floor((nextUint32() / 4294967296) * (high - low + 1));
    },
    state: () => [a >>> 0, b >>> 0, c >>> 0, d >>> 0],
  };
}

export function uniform(prng: Prng, low: number, high: number): number {
  return low + (high - low) * prng.next();
}

/** A standard normal draw (Box-Muller, the cosine branch; two uniforms per draw). */
export function normal(prng: Prng): number {
  const u = Math.max(prng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * prng.next());
}

/** A normal draw with the given mean and spread, clamped to [low, high]. */
export function clampedNormal(prng: Prng, mean: number, spread: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, mean + spread * normal(prng)));
}

export function choose<T>(prng: Prng, items: readonly T[]): T {
  return items[prng.int(0, items.length - 1)]!;
}

export function chance(prng: Prng, p: number): boolean {
  return prng.next() < p;
}

/** `size` values uniform on [-bound, bound). */
export function uniformArray(prng: Prng, size: number, bound: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * prng.next() - 1) * bound;
  return out;
}

/** `size` values from N(0, std²). */
export function normalArray(prng: Prng, size: number, std: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = std * normal(prng);
  return out;
}

/** Fisher-Yates, in place; returns `values`. */
export function shuffle<T>(values: T[], prng: Prng): T[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}
