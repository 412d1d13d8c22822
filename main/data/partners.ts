/**
 * Each image's partner for the pair methods (the pair GAM of a network without an identity head):
 * its first genuine pair partner in the dataset, else another image of the same identity and group.
 */
import type { Dataset } from './dataset.ts';

/** The partner of image `index` (indexed once, not searched per image); undefined when it has none. */
export function partnerIndex(dataset: Dataset): (index: number) => number | undefined {
  const partners = new Map<number, number>();
  for (const p of dataset.pairs) {
    if (!p.same) continue;
    if (!partners.has(p.a)) partners.set(p.a, p.b);
    if (!partners.has(p.b)) partners.set(p.b, p.a);
  }
  const byIdentity = new Map<string, number[]>();
  dataset.images.forEach((image, i) => {
    if (image.identity === '') return;
    const key = `${image.group}\u0000${image.identity}`;
    const list = byIdentity.get(key);
    if (list === undefined) byIdentity.set(key, [i]);
    else list.push(i);
  });
  return (index) => {
    const direct = partners.get(index);
    if (direct !== undefined) return direct;
    const image = dataset.images[index]!;
    return byIdentity.get(`${image.group}\u0000${image.identity}`)?.find((i) => i !== index);
  };
}
