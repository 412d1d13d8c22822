/**
 * How a synthetic dataset is laid out: which identities go to the RFW-style test set and which to the
 * BUPT-style training set, their names, and the verification pairs of each group.
 */
import type { Prng } from '../../base/random.ts';

/** RFW-like identity names: `m.` followed by six base-36 characters, unique in the dataset. */
export function identityNames(prng: Prng, count: number, taken: Set<string>): string[] {
  const names: string[] = [];
  while (names.length < count) {
    let name = 'm.0';
    for (let i = 0; i < 5; i++) name += '0123456789abcdefghijklmnopqrstuvwxyz'[prng.int(0, 35)];
    if (taken.has(name)) continue;
    taken.add(name);
    names.push(name);
  }
  return names;
}

function shuffle<T>(items: T[], prng: Prng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export interface PairLineSpec {
  readonly same: boolean;
  readonly identity: string;
  readonly first: number;
  readonly otherIdentity: string;
  readonly second: number;
}

/**
 * RFW-style pairs for one group: identities split into 10 folds (disjoint, like RFW's), and per fold
 * P positive pairs (two images of one identity) then P negative pairs (images of two identities of the
 * fold). P is the same for every fold: the most every fold can supply, at most 300 as in RFW.
 */
export function foldedPairs(
  identities: readonly string[],
  imagesPerIdentity: number,
  prng: Prng,
): { perFold: number; lines: PairLineSpec[] } {
  const folds = 10;
  const byFold: string[][] = Array.from({ length: folds }, () => []);
  identities.forEach((id, i) => {
    byFold[i % folds]!.push(id);
  });
  const candidates = byFold.map((ids) => {
    const positives: PairLineSpec[] = [];
    const negatives: PairLineSpec[] = [];
    for (const [k, id] of ids.entries()) {
      for (let a = 1; a <= imagesPerIdentity; a++) {
        for (let b = a + 1; b <= imagesPerIdentity; b++)
          positives.push({ same: true, identity: id, first: a, otherIdentity: id, second: b });
        for (const other of ids.slice(k + 1)) {
          for (let b = 1; b <= imagesPerIdentity; b++)
            negatives.push({ same: false, identity: id, first: a, otherIdentity: other, second: b });
        }
      }
    }
    return { positives: shuffle(positives, prng), negatives: shuffle(negatives, prng) };
  });
  const perFold = Math.min(300, ...candidates.map((c) => Math.min(c.positives.length, c.negatives.length)));
  const lines: PairLineSpec[] = [];
  for (const c of candidates) lines.push(...c.positives.slice(0, perFold), ...c.negatives.slice(0, perFold));
  return { perFold, lines };
}

/** Splits `total` identities between groups in proportion to `mix` (largest remainders). */
export function splitByMix(total: number, mix: readonly number[]): number[] {
  const sum = mix.reduce((a, b) => a + b, 0);
  const exact = mix.map((m) => (total * m) / sum);
  const counts = exact.map(Math.floor);
  const order = exact
    .map((e, i) => [e - Math.floor(e), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const remaining = total - counts.reduce((a, b) => a + b, 0);
  for (let k = 0; k < remaining; k++) counts[order[k]![1]]!++;
  return counts;
}
