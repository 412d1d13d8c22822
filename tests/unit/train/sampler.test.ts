import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { epochOrder } from '../../../main/gabn/sampler.ts';

// 80 / 60 / 40 / 20 images, as the synthetic training set's identities are spread.
const groupOf = Int32Array.from([
  ...Array(80).fill(0),
  ...Array(60).fill(1),
  ...Array(40).fill(2),
  ...Array(20).fill(3),
]);

describe('epoch order', () => {
  it('natural: every image exactly once, shuffled, the same for the same seed', () => {
    const order = epochOrder(groupOf, 4, 'natural', createPrng(1));
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from(groupOf.keys()));
    expect(order).not.toEqual(Array.from(groupOf.keys()));
    expect(epochOrder(groupOf, 4, 'natural', createPrng(1))).toEqual(order);
    expect(epochOrder(groupOf, 4, 'natural', createPrng(2))).not.toEqual(order);
  });

  it('group-balanced: an equal share per group, interleaved, the small group cycled without repeats within a cycle', () => {
    const order = epochOrder(groupOf, 4, 'group-balanced', createPrng(3));
    expect(order).toHaveLength(200);
    const counts = [0, 0, 0, 0];
    for (const i of order) counts[groupOf[i]!]!++;
    expect(counts).toEqual([50, 50, 50, 50]);
    // Every window of 4 holds one image of each group.
    for (let k = 0; k < order.length; k += 4) {
      expect(new Set(order.slice(k, k + 4).map((i) => groupOf[i]))).toEqual(new Set([0, 1, 2, 3]));
    }
    // Group 3 (20 images) is cycled: its first 20 draws are 20 different images.
    const smallest = order.filter((i) => groupOf[i] === 3);
    expect(new Set(smallest.slice(0, 20)).size).toBe(20);
    // Group 0 (80 images) is subsampled: 50 different images.
    expect(new Set(order.filter((i) => groupOf[i] === 0)).size).toBe(50);
  });
});
