/**
 * What changes from one photo of a person to the next: pose, expression, light, blur, sensor noise
 * and occlusion. Identity stays; these vary per image.
 */
import type { Prng } from '../../base/random.ts';
import { chance, choose, clampedNormal, uniform } from '../../base/random.ts';

export type Occlusion = 'none' | 'sunglasses' | 'scarf' | 'hand' | 'block';

export interface Nuisance {
  /** In-plane rotation in degrees, scale, and shift in canonical pixels. */
  readonly roll: number;
  readonly scale: number;
  readonly shiftX: number;
  readonly shiftY: number;
  /** −1 (turned to the image's left) … 1: moves the inner features sideways. */
  readonly yaw: number;
  readonly smile: number;
  readonly mouthOpen: number;
  readonly browRaise: number;
  readonly squint: number;
  /** Direction of the light in degrees and its strength (0 = flat light). */
  readonly lightAngle: number;
  readonly lightStrength: number;
  readonly brightness: number;
  readonly contrast: number;
  readonly blur: number;
  /** Standard deviation of the pixel noise, 0..255 units. */
  readonly noise: number;
  readonly occlusion: Occlusion;
  /** Where an occluding block sits (canonical pixels). */
  readonly blockX: number;
  readonly blockY: number;
}

/** How hard a split's photos are: how often something covers the face, and the sensor's noise. */
export interface NuisanceOptions {
  /** Share of photos with an occlusion (sunglasses, scarf, hand or a block). */
  readonly occlusionRate: number;
  /** Range of the pixel noise's standard deviation, 0..255 units. */
  readonly noise: readonly [number, number];
}

/** The photos of the default design, in training and test sets alike. */
export const ORDINARY_PHOTOS: NuisanceOptions = { occlusionRate: 0.12, noise: [2, 9] };

export function drawNuisance(prng: Prng, options: NuisanceOptions = ORDINARY_PHOTOS): Nuisance {
  return {
    roll: clampedNormal(prng, 0, 6, -15, 15),
    scale: uniform(prng, 0.88, 1.08),
    shiftX: clampedNormal(prng, 0, 2.5, -6, 6),
    shiftY: clampedNormal(prng, 0, 2.5, -6, 6),
    yaw: clampedNormal(prng, 0, 0.35, -1, 1),
    smile: chance(prng, 0.5) ? uniform(prng, 0, 1) : 0,
    mouthOpen: chance(prng, 0.25) ? uniform(prng, 0.2, 1) : 0,
    browRaise: clampedNormal(prng, 0, 0.4, -1, 1),
    squint: chance(prng, 0.2) ? uniform(prng, 0.2, 0.7) : 0,
    lightAngle: uniform(prng, 0, 360),
    lightStrength: uniform(prng, 0, 0.45),
    brightness: clampedNormal(prng, 1, 0.12, 0.7, 1.3),
    contrast: clampedNormal(prng, 1, 0.1, 0.75, 1.2),
    blur: chance(prng, 0.5) ? uniform(prng, 0.3, 1.3) : 0,
    noise: uniform(prng, options.noise[0], options.noise[1]),
    occlusion: chance(prng, options.occlusionRate)
      ? choose(prng, ['sunglasses', 'scarf', 'hand', 'block'] as const)
      : 'none',
    blockX: uniform(prng, 25, 87),
    blockY: uniform(prng, 30, 95),
  };
}
