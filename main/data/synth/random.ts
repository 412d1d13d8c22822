/** Draws built on the project's seeded generator (main/gabn/prng.ts): ranges, normals, choices. */
import type { Prng } from '../../gabn/prng.ts';

export function uniform(prng: Prng, low: number, high: number): number {
  return low + (high - low) * prng.next();
}

/** A standard normal draw (Box-Muller). */
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
