/**
 * Mechanism figures made up for the tests of what shows them (charts, tables, summaries): each
 * figure an interval of ±halfWidth around its value, every group's entropy 0.8 and lattice share
 * 0.3, from 16 probe images.
 */
import type { GroupMechanisms, Mechanisms } from '../../main/usecases/training/records.ts';

export function around(value: number, halfWidth: number) {
  return { value, interval: { lower: value - halfWidth, upper: value + halfWidth } };
}

export interface FakeGroup {
  readonly mass: number;
  readonly confidence: number;
  /** Default: the confidence. */
  readonly targetProbability?: number;
}

export function fakeMechanisms(options: {
  readonly accuracy: number | null;
  readonly chance: number;
  readonly distance: number;
  readonly groups: Record<string, FakeGroup>;
  readonly halfWidth: number;
}): Mechanisms {
  const e = (value: number) => around(value, options.halfWidth);
  const group = (g: FakeGroup): GroupMechanisms => ({
    images: 16,
    massFraction: e(g.mass),
    entropy: e(0.8),
    latticeShare: e(0.3),
    confidence: e(g.confidence),
    targetProbability: e(g.targetProbability ?? g.confidence),
  });
  return {
    probesPerGroup: 16,
    discriminatorAccuracy: options.accuracy === null ? null : e(options.accuracy),
    chance: options.chance,
    gamDistance: options.distance,
    groups: Object.fromEntries(Object.entries(options.groups).map(([name, g]) => [name, group(g)])),
  };
}
