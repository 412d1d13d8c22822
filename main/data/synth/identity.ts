/**
 * An identity: the parameters that make one synthetic person recognisable across all their images.
 * Each is drawn around a neutral face with a spread scaled by the group's diversity.
 */
import type { Prng } from '../../base/random.ts';
import { chance, choose, clampedNormal, uniform } from '../../base/random.ts';
import type { FaceRegion, GroupDesign } from './groups.ts';

export type Rgb = readonly [number, number, number];

export interface IdentityParams {
  readonly skin: Rgb;
  readonly hair: Rgb;
  readonly iris: Rgb;
  readonly lips: Rgb;
  /** Face half-width and half-height in the 112-pixel canonical frame. */
  readonly faceWidth: number;
  readonly faceHeight: number;
  /** 0 = round chin, 1 = pointed. */
  readonly jaw: number;
  /** Half the distance between the eye centres. */
  readonly eyeSpacing: number;
  readonly eyeSize: number;
  /** Eye opening height relative to width. */
  readonly eyeOpen: number;
  readonly eyeTilt: number;
  readonly browThickness: number;
  readonly browArch: number;
  readonly browGap: number;
  readonly noseLength: number;
  readonly noseWidth: number;
  readonly mouthWidth: number;
  readonly lipThickness: number;
  readonly mouthHeight: number;
  readonly earSize: number;
  /** 0 none, 1 short crop, 2 side part, 3 fringe, 4 long, 5 curly. */
  readonly hairStyle: number;
  readonly hairline: number;
  readonly beard: number;
  readonly moles: readonly { x: number; y: number; r: number }[];
  readonly freckles: boolean;
  readonly glasses: boolean;
  /** Background colour of this person's photos (studio backdrop). */
  readonly backdrop: Rgb;
}

/** Mixes a feature colour towards the skin by (1 − contrast): contrast 1 keeps the colour. */
export function withContrast(feature: Rgb, skin: Rgb, contrast: number): Rgb {
  return [0, 1, 2].map((c) => Math.round(skin[c]! + (feature[c]! - skin[c]!) * contrast)) as unknown as Rgb;
}

function scaleColour(colour: Rgb, factor: number): Rgb {
  return colour.map((v) => Math.max(0, Math.min(255, Math.round(v * factor)))) as unknown as Rgb;
}

/** The drawn hair style, or a short crop for everyone of a group whose hair does not vary. */
function sameStyle(spread: number, drawn: number): number {
  return spread < 0.5 ? 1 : drawn;
}

/** The drawn backdrop, or one neutral grey for everyone where the backdrop must say nothing of identity. */
function studioBackdrop(spread: number, drawn: Rgb): Rgb {
  return spread < 0.5 ? [150, 150, 150] : drawn;
}

export function drawIdentity(prng: Prng, group: GroupDesign): IdentityParams {
  const d = group.diversity;
  const spreadOf = (region: FaceRegion) => group.regionSpread?.[region] ?? 1;
  // Draws happen in the same order whatever the spreads, so the default design's people are the
  // same as before regions had spreads of their own.
  const n = (region: FaceRegion, mean: number, spread: number, low: number, high: number) =>
    clampedNormal(prng, mean, spread * d * spreadOf(region), low, high);
  /** A categorical trait: drawn, or the group's first choice where the region does not vary. */
  const pick = <T>(region: FaceRegion, items: readonly T[]): T => {
    const drawn = choose(prng, items);
    return spreadOf(region) < 0.5 ? items[0]! : drawn;
  };
  const skin = scaleColour(group.skin, n('skin', 1, group.skinSpread / Math.max(d, 1e-6), 0.75, 1.25));
  const contrast = group.featureContrast;
  const hair = withContrast(pick('hair', group.hair), skin, contrast);
  const lipsBase: Rgb = [
    Math.round(skin[0] * 0.78 + 30),
    Math.round(skin[1] * 0.55),
    Math.round(skin[2] * 0.6),
  ];
  const moleCount = chance(prng, 0.45 * Math.min(1, spreadOf('marks'))) ? prng.int(1, 3) : 0;
  return {
    skin,
    hair,
    iris: withContrast(pick('eyes', group.iris), skin, Math.min(1, contrast + 0.2)),
    lips: withContrast(lipsBase, skin, Math.min(1, contrast + 0.3)),
    faceWidth: n('outline', 34, 3, 27, 41),
    faceHeight: n('outline', 45, 3, 38, 52),
    jaw: n('outline', 0.5, 0.25, 0, 1),
    eyeSpacing: n('eyes', 17.6, 1.6, 13.5, 21.5),
    eyeSize: n('eyes', 6.2, 0.9, 4.2, 8.5),
    eyeOpen: n('eyes', 0.5, 0.1, 0.28, 0.75),
    eyeTilt: n('eyes', 0, 0.08, -0.2, 0.2),
    browThickness: n('brows', 2.2, 0.7, 0.9, 4),
    browArch: n('brows', 2.5, 1.2, 0, 5.5),
    browGap: n('brows', 7.5, 1.5, 4.5, 11),
    noseLength: n('nose', 20, 2.5, 14, 26),
    noseWidth: n('nose', 6.5, 1.2, 4, 9.5),
    mouthWidth: n('mouth', 14.5, 1.8, 10, 19),
    lipThickness: n('mouth', 2.6, 0.8, 1.2, 4.8),
    mouthHeight: n('mouth', 40.5, 2, 36, 45),
    earSize: n('outline', 7, 1.2, 4.5, 10),
    hairStyle: sameStyle(spreadOf('hair'), chance(prng, 0.06) ? 0 : prng.int(1, 5)),
    hairline: n('hair', 22, 4, 12, 30),
    beard: chance(prng, 0.2 * Math.min(1, spreadOf('marks'))) ? uniform(prng, 0.3, 0.9) : 0,
    moles: Array.from({ length: moleCount }, () => ({
      x: uniform(prng, -22, 22),
      y: uniform(prng, -10, 30),
      r: uniform(prng, 0.7, 1.5),
    })),
    freckles: chance(prng, 0.12 * Math.min(1, spreadOf('marks'))),
    glasses: chance(prng, 0.08),
    backdrop: studioBackdrop(spreadOf('backdrop'), [prng.int(90, 220), prng.int(90, 220), prng.int(90, 220)]),
  };
}
