/**
 * What the scores of a "bring your own scores" CSV are: cosine similarities (distance = 2 − 2·score)
 * or distances used as they are. A file of its own, free of Node, because the report model (and so
 * the GUI) names it too.
 */
export const SCORE_KINDS = ['similarity', 'distance'] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];
