import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { SYNTH_DESIGNS, synthDesign } from '../../../main/data/synth/designs.ts';
import { GROUP_DESIGNS } from '../../../main/data/synth/groups.ts';
import { drawIdentity, type IdentityParams } from '../../../main/data/synth/identity.ts';
import { drawNuisance } from '../../../main/data/synth/nuisance.ts';

function spread(group: (typeof GROUP_DESIGNS)[number], key: keyof IdentityParams): number {
  const values = Array.from(
    { length: 400 },
    (_, k) => drawIdentity(createPrng(1000 + k), group)[key] as number,
  );
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
}

describe('synthetic designs', () => {
  it('the default design is the four groups of groups.ts with ordinary photos in both splits', () => {
    const d = synthDesign('default');
    expect(d.groups).toBe(GROUP_DESIGNS);
    expect(d.trainPhotos).toEqual(d.testPhotos);
    expect(() => synthDesign('nope')).toThrow(/one of default, local-cues/);
  });

  it('local-cues: in group-c and group-d people differ around the eyes and brows and hardly elsewhere', () => {
    const [a, b, c, d] = SYNTH_DESIGNS['local-cues'].groups;
    for (const local of [c!, d!]) {
      for (const key of ['eyeSpacing', 'eyeSize', 'browArch', 'browGap'] as const) {
        expect(spread(local, key) / spread(a!, key)).toBeGreaterThan(1.4);
      }
      for (const key of ['faceWidth', 'jaw', 'noseLength', 'mouthWidth', 'hairline', 'earSize'] as const) {
        expect(spread(local, key) / spread(a!, key)).toBeLessThan(0.35);
      }
      const people = Array.from({ length: 50 }, (_, k) => drawIdentity(createPrng(k), local));
      expect(new Set(people.map((p) => p.hairStyle)).size).toBe(1);
      // One hair colour for the group (mixed towards each person's nearly equal skin).
      const reds = people.map((p) => p.hair[0]);
      expect(Math.max(...reds) - Math.min(...reds)).toBeLessThanOrEqual(4);
    }
    // Only where the cues are differs: contrast and diversity are the same in every group.
    for (const g of [a, b, c, d]) expect([g!.featureContrast, g!.diversity]).toEqual([0.85, 1]);
    // No group's backdrop tells its people apart.
    for (const g of [a, b, c, d]) {
      const backdrops = Array.from({ length: 20 }, (_, k) =>
        String(drawIdentity(createPrng(k), g!).backdrop),
      );
      expect(new Set(backdrops).size).toBe(1);
    }
  });

  it('local-cues: the test photos are occluded and noisy more often than the training photos', () => {
    const { trainPhotos, testPhotos } = SYNTH_DESIGNS['local-cues'];
    const rate = (options: typeof trainPhotos) => {
      const prng = createPrng(5);
      const draws = Array.from({ length: 4000 }, () => drawNuisance(prng, options));
      return {
        occluded: draws.filter((n) => n.occlusion !== 'none').length / draws.length,
        noise: Math.max(...draws.map((n) => n.noise)),
      };
    };
    const train = rate(trainPhotos);
    const test = rate(testPhotos);
    expect(train.occluded).toBeCloseTo(0.12, 1);
    expect(test.occluded).toBeCloseTo(0.35, 1);
    expect(train.noise).toBeLessThanOrEqual(9);
    expect(test.noise).toBeGreaterThan(12);
  });
});
