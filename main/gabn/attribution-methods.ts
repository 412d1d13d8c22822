/**
 * The names of the attribution methods, in the order the app offers them: the one list (the API
 * contract, the validation and the registry in attribution.ts all read it). Free of imports, since
 * the GUI's types name it too. A new method is a file beside gam.ts and its name here.
 */
export const ATTRIBUTION_METHODS = ['gam', 'pair-gam', 'grad-cam'] as const;

export type AttributionMethod = (typeof ATTRIBUTION_METHODS)[number];
