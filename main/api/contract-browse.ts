/**
 * The API's types for browsing a dataset (part of the contract: contract.ts re-exports them, and the
 * renderer reads them through it): image pages and bytes, attention maps, erasure masks, an image's
 * pairs under a checkpoint, and group averages. Plain data only.
 */
import type { AttributionMethod } from '../gabn/attribution-methods.ts';
import type { Estimate } from '../report/report-model.ts';

export type MaskKind = 'sfre' | 'random';

export interface ImageEntry {
  /** Index in the dataset: stable while the dataset is open. */
  readonly id: number;
  readonly relative: string;
  readonly identity: string;
  readonly group: string;
}

export interface ImageQuery {
  readonly group?: string;
  /** Substring of the identity, case-insensitive. */
  readonly identity?: string;
  readonly offset?: number;
  readonly limit?: number;
}

export interface ImagePage {
  /** Images matching the query, before offset and limit. */
  readonly total: number;
  readonly offset: number;
  readonly images: ImageEntry[];
}

export interface ImageRequest {
  readonly datasetId: string;
  readonly imageId: number;
  /** Aligned to the ArcFace template at this size (the model's input); absent: the file as stored. */
  readonly aligned?: number;
}

export interface ImageBytes {
  readonly mime: string;
  readonly base64: string;
  /** A strong validator of the bytes (for HTTP caching). */
  readonly etag: string;
}

export interface AttributionRequest {
  readonly checkpointId: string;
  readonly datasetId: string;
  readonly imageId: number;
  readonly method: AttributionMethod;
  /** The pair methods' partner (a pair the audit lists); default the image's first genuine partner. */
  readonly partnerId?: number;
}

export interface AttributionMap {
  readonly method: AttributionMethod;
  readonly width: number;
  readonly height: number;
  /** width·height float32 values in [0, 1] (each map divided by its maximum), little-endian, base64. */
  readonly values: string;
  readonly rawMax: number;
  /** Share of the pixels holding half of the map's mass; null for an all-zero map (JSON has no NaN). */
  readonly massFraction: number | null;
  /** Normalised entropy of the map; null for an all-zero map. */
  readonly entropy: number | null;
  /**
   * Share of the map's mass on the network's stride lattice (null for an all-zero map), and the share
   * a uniform map puts there; absent where the network's stride is not known.
   */
  readonly lattice?: { readonly share: number | null; readonly area: number };
  /** The image the pair methods compared with, when one was used. */
  readonly partnerId?: number;
}

export interface MaskRequest {
  readonly checkpointId: string;
  readonly datasetId: string;
  readonly imageId: number;
  readonly kind: MaskKind;
  /** N_mask, h_mask, w_mask of GAM-SFRE (random erase uses the same sizes). */
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly seed: number;
  /** GAM-SFRE's centres: the map's own ranking ('raw', the paper, the default) or 'smoothed' (docs/gam.md). */
  readonly centres?: 'raw' | 'smoothed';
  /** The map SFRE follows (default: the GAM if the checkpoint has a head, else the pair GAM). */
  readonly method?: AttributionMethod;
  /** The partner of a pair method's map, as in AttributionRequest. */
  readonly partnerId?: number;
}

export interface MaskRect {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

export interface MaskResult {
  readonly kind: MaskKind;
  readonly width: number;
  readonly height: number;
  readonly rects: MaskRect[];
}

export interface PairsRequest {
  readonly datasetId: string;
  readonly imageId: number;
  /** With a checkpoint, each pair gets its distance and the protocol's verdict. */
  readonly checkpointId?: string;
}

export interface PairEntry {
  readonly partner: ImageEntry;
  readonly same: boolean;
  readonly fold: number;
  /** Squared Euclidean distance of the flip-summed, L2-normalised embeddings (2 − 2·cosine). */
  readonly distance?: number;
  /** The threshold the 10-fold protocol applies to this pair's fold (chosen on the other folds). */
  readonly threshold?: number;
  /** distance < threshold. */
  readonly predictedSame?: boolean;
  readonly correct?: boolean;
}

export interface PairsResult {
  readonly pairs: PairEntry[];
  /** The group's 10-fold accuracy under the checkpoint, as a fraction. */
  readonly groupAccuracy?: number;
}

export interface GroupAveragesRequest {
  readonly datasetId: string;
  readonly checkpointId: string;
  /** Images per group (spread evenly over the group); default 32. */
  readonly limit?: number;
  readonly method?: AttributionMethod;
  readonly seed?: number;
}

/** The result of a 'group-averages' job: per group, the average face and average map with statistics. */
export interface GroupAveragesResult {
  readonly method: AttributionMethod;
  readonly inputSize: number;
  readonly groups: {
    readonly group: string;
    readonly images: number;
    readonly empty: number;
    /** The group's mean and its 95% interval; a null value where there was nothing to average. */
    readonly massFraction: Estimate;
    readonly entropy: Estimate;
    /** The mean share of attention on the network's stride lattice, and a uniform map's share. */
    readonly lattice?: { readonly share: Estimate; readonly area: number };
    /** PNG files inside the run directory, relative to it. */
    readonly averageFace: string;
    readonly averageMap: string;
  }[];
  readonly failed: { file: string; message: string }[];
}
