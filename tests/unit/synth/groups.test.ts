import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { GROUP_DESIGNS } from '../../../main/data/synth/groups.ts';
import { drawIdentity } from '../../../main/data/synth/identity.ts';
import type { Nuisance } from '../../../main/data/synth/nuisance.ts';
import { renderFace } from '../../../main/data/synth/render.ts';

/** A frontal photo in flat light, no blur, no noise: what the group design alone does. */
const NEUTRAL: Nuisance = {
  roll: 0,
  scale: 1,
  shiftX: 0,
  shiftY: 0,
  yaw: 0,
  smile: 0,
  mouthOpen: 0,
  browRaise: 0,
  squint: 0,
  lightAngle: 0,
  lightStrength: 0,
  brightness: 1,
  contrast: 1,
  blur: 0,
  noise: 0,
  occlusion: 'none',
  blockX: 0,
  blockY: 0,
};

const luminance = (p: Uint8Array, x: number, y: number) => {
  const i = (Math.round(y) * 112 + Math.round(x)) * 3;
  return 0.2126 * p[i]! + 0.7152 * p[i + 1]! + 0.0722 * p[i + 2]!;
};

describe('group design measured on rendered faces', () => {
  it('skin gets darker and features contrast less from group-a to group-d', async () => {
    const skins: number[] = [];
    const contrasts: number[] = [];
    for (const group of GROUP_DESIGNS) {
      let skin = 0;
      let contrast = 0;
      const people = 12;
      for (let k = 0; k < people; k++) {
        const id = drawIdentity(createPrng(500 + k), group);
        const face = await renderFace(id, NEUTRAL, group.featureContrast, 112, 1, createPrng(1));
        const [lx, ly, , , nx, ny] = face.landmarks;
        // the cheek below the left eye, and the mouth line between the lips
        const cheek = luminance(face.pixels, (lx + nx) / 2 - 4, (ly + ny) / 2 + 6);
        const lips = luminance(
          face.pixels,
          (face.landmarks[6] + face.landmarks[8]) / 2 + 0.5,
          face.landmarks[7] + 0.5,
        );
        skin += cheek / people;
        contrast += Math.abs(cheek - lips) / people;
      }
      skins.push(skin);
      contrasts.push(contrast);
    }
    for (let g = 1; g < 4; g++) {
      expect(skins[g]!).toBeLessThan(skins[g - 1]!);
      expect(contrasts[g]!).toBeLessThan(contrasts[g - 1]!);
    }
  });

  it('identities are more alike in the less diverse groups', () => {
    const spread = GROUP_DESIGNS.map((group) => {
      const widths = Array.from({ length: 200 }, (_, k) => drawIdentity(createPrng(k), group).eyeSpacing);
      const mean = widths.reduce((a, b) => a + b, 0) / widths.length;
      return Math.sqrt(widths.reduce((a, b) => a + (b - mean) ** 2, 0) / widths.length);
    });
    for (let g = 1; g < 4; g++) expect(spread[g]!).toBeLessThan(spread[g - 1]!);
  });
});

describe('training mix', () => {
  it('splits identities by largest remainders, summing to the total', async () => {
    const { splitByMix } = await import('../../../main/data/synth/layout.ts');
    expect(splitByMix(12, [0.4, 0.3, 0.2, 0.1])).toEqual([5, 4, 2, 1]);
    expect(splitByMix(200, [0.4, 0.3, 0.2, 0.1])).toEqual([80, 60, 40, 20]);
    expect(splitByMix(7, [1, 1, 1, 1]).reduce((a, b) => a + b, 0)).toBe(7);
  });
});
