/**
 * The order in which an epoch visits the training images, drawn from the run's seeded generator so
 * that a resumed run visits the same images in the same order.
 *
 * - natural: every image once, shuffled (the paper's training).
 * - group-balanced: as many images as the epoch would have, each group contributing an equal share;
 *   a group with fewer images is cycled (each cycle reshuffled), a larger one is subsampled. The
 *   groups are interleaved so that every batch sees them in about equal numbers.
 */
import type { Prng } from '../base/random.ts';

export type Sampling = 'natural' | 'group-balanced';

/** Fisher-Yates, in place. */
function shuffle(values: number[], prng: Prng): number[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

/** `groupOf[i]` is image i's group index; returns the image indices of one epoch, in order. */
export function epochOrder(
  groupOf: Int32Array,
  groupCount: number,
  sampling: Sampling,
  prng: Prng,
): number[] {
  const all = Array.from(groupOf.keys());
  if (sampling === 'natural') return shuffle(all, prng);
  const members: number[][] = Array.from({ length: groupCount }, () => []);
  for (const i of all) members[groupOf[i]!]!.push(i);
  const present = members.filter((m) => m.length > 0);
  const share = Math.floor(all.length / present.length);
  const drawn = present.map((group) => {
    const out: number[] = [];
    while (out.length < share) out.push(...shuffle([...group], prng).slice(0, share - out.length));
    return out;
  });
  // Interleave: image k of every group, then image k + 1 of every group, each round in a random order.
  const order: number[] = [];
  for (let k = 0; k < share; k++) {
    for (const g of shuffle(Array.from(drawn.keys()), prng)) order.push(drawn[g]![k]!);
  }
  return order;
}
