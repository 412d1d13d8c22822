/**
 * The four synthetic groups. They are named group-a … group-d and never after real populations: they
 * are a controlled stand-in for the way face datasets differ between demographic groups, chosen so
 * that a model trained on an imbalanced mix is measurably less accurate on some groups.
 *
 * Three knobs separate the groups (docs/synthetic-faces.md explains the design):
 * - skin tone: group-a is the lightest, group-d the darkest;
 * - feature contrast: how far eyes, brows, lips and hair stand out from the skin (1 = fully, 0 = not
 *   at all); lower in the darker groups, so the same camera noise hides more of the face;
 * - identity diversity: the spread of identity parameters around the group's mean; smaller spread
 *   makes identities more alike and harder to tell apart.
 */
/** Where on the face an identity parameter lives (local-cues.ts scales identity by region). */
export type FaceRegion =
  | 'skin'
  | 'outline'
  | 'eyes'
  | 'brows'
  | 'nose'
  | 'mouth'
  | 'hair'
  | 'marks'
  | 'backdrop';

export interface GroupDesign {
  readonly name: string;
  /** Mean skin colour, RGB 0..255. */
  readonly skin: readonly [number, number, number];
  /** Spread of skin luminance between identities (fraction of the mean). */
  readonly skinSpread: number;
  /** 0..1: how strongly facial features contrast with the skin. */
  readonly featureContrast: number;
  /** Multiplier of every identity parameter's spread. */
  readonly diversity: number;
  /** Hair colours to choose from (dark to light). */
  readonly hair: readonly (readonly [number, number, number])[];
  /** Iris colours to choose from. */
  readonly iris: readonly (readonly [number, number, number])[];
  /**
   * Multiplier of the identity spread in each facial region (absent: 1, as in the default design):
   * below 1 people of the group look alike there; below 0.5 a region's categorical traits (hair
   * style and colour, marks) are the same for everyone of the group.
   */
  readonly regionSpread?: Readonly<Partial<Record<FaceRegion, number>>>;
}

export const GROUP_DESIGNS: readonly GroupDesign[] = [
  {
    name: 'group-a',
    skin: [236, 200, 178],
    skinSpread: 0.05,
    featureContrast: 1.0,
    diversity: 1.0,
    hair: [
      [60, 40, 25],
      [120, 80, 40],
      [190, 150, 90],
      [225, 195, 130],
      [140, 60, 30],
    ],
    iris: [
      [70, 110, 160],
      [90, 130, 90],
      [110, 75, 45],
      [130, 140, 150],
    ],
  },
  {
    name: 'group-b',
    skin: [214, 170, 132],
    skinSpread: 0.05,
    featureContrast: 0.85,
    diversity: 0.9,
    hair: [
      [35, 28, 22],
      [60, 42, 30],
      [95, 65, 40],
    ],
    iris: [
      [85, 60, 40],
      [60, 45, 30],
    ],
  },
  {
    name: 'group-c',
    skin: [160, 112, 80],
    skinSpread: 0.06,
    featureContrast: 0.65,
    diversity: 0.8,
    hair: [
      [30, 24, 20],
      [45, 32, 24],
    ],
    iris: [
      [60, 40, 28],
      [45, 32, 22],
    ],
  },
  {
    name: 'group-d',
    skin: [105, 72, 52],
    skinSpread: 0.07,
    featureContrast: 0.5,
    diversity: 0.7,
    hair: [
      [22, 18, 16],
      [32, 25, 20],
    ],
    iris: [
      [45, 30, 22],
      [35, 25, 18],
    ],
  },
];
