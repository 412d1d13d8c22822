/**
 * What a training run reports, as plain declarations without Node: the lines of metrics.jsonl, the
 * index of its attention strip, and the time-per-epoch estimate. The app's contract re-exports them,
 * so the GUI reads the very types the run writes. In the files, a value that is not finite (a group
 * absent from a batch, a module that is off) is null, as JSON writes NaN.
 */
import type { Estimate } from '../../report/report-model.ts';

/** Per-group verification accuracy (%) on the validation pairs, and the paper's Avg, STD and SER. */
export interface Validation {
  /** Accuracy of each group, percent. */
  readonly groups: Record<string, number>;
  readonly average: number;
  readonly std: number;
  readonly ser: number;
}

/** One step of Algorithm 1: every figure of the paper's logging (DESIGN.md §5). */
export interface StepRecord {
  readonly type: 'step';
  /** Counted from 1. */
  readonly epoch: number;
  /** Steps of the run done, counted from 1. */
  readonly step: number;
  readonly loss: number;
  /** L_ID, the margin softmax (Eq. 6). */
  readonly identityLoss: number;
  /** L_adv (Eq. 4); null without GAM-CT. */
  readonly adversarialLoss: number | null;
  /** The discriminator's cross entropy (Eq. 3) and accuracy; null without GAM-CT. */
  readonly discriminatorLoss: number | null;
  readonly discriminatorAccuracy: number | null;
  /** L_conf (Eq. 5). */
  readonly confidenceLoss: number;
  /** Mean P_max per group (the paper's Fig. 3); null for a group absent from the batch. */
  readonly groupConfidence: Record<string, number | null>;
  readonly lr: number;
  readonly imagesPerSecond: number;
}

/** The end of an epoch: its checkpoint and, with a validation set, its per-group figures. */
export interface EpochRecord {
  readonly type: 'epoch';
  readonly epoch: number;
  readonly step: number;
  /** The epoch's time, validation included. */
  readonly seconds: number;
  /** Relative to the run folder. */
  readonly checkpoint: string;
  readonly validation?: Validation;
  /** What the paper's mechanisms did to the network, on the fixed probe set; absent when not measured. */
  readonly mechanisms?: Mechanisms;
}

/**
 * One group's figures on the probe set: each a mean over its probe images with a 95% percentile
 * bootstrap interval (null where the group has no usable map).
 */
export interface GroupMechanisms {
  /** Probe images of the group. */
  readonly images: number;
  /** Share of the pixels holding half of the GAM's mass (GAM-SFRE aims to raise the lowest group's). */
  readonly massFraction: Estimate;
  /** Normalised entropy of the GAM (1: uniform). */
  readonly entropy: Estimate;
  /** Share of the GAM's mass on the network's stride lattice. */
  readonly latticeShare: Estimate;
  /** Mean P_max, the largest softmax probability of the margin logits (Eq. 5's confidence). */
  readonly confidence: Estimate;
  /**
   * Mean probability of the image's own identity as the network predicts it, softmax(s·cos θ) without
   * the margin (Fig. 3's caption: "the prediction probability value of the network for the category
   * of the input image").
   */
  readonly targetProbability: Estimate;
}

/**
 * The mechanisms of GABN measured after an epoch (docs/training.md, "The mechanism figures"): the
 * network of the epoch checkpoint in eval mode, on a fixed probe set of training images.
 */
export interface Mechanisms {
  /** Probe images per group at most, spread evenly over each group's training images. */
  readonly probesPerGroup: number;
  /** The discriminator's accuracy on the probe GAMs (GAM-CT aims at chance); null without one. */
  readonly discriminatorAccuracy: Estimate | null;
  /** 1/G: the accuracy of a discriminator that cannot tell the groups apart. */
  readonly chance: number;
  /** Mean over group pairs of the total variation distance between the groups' average GAMs, in [0, 1]. */
  readonly gamDistance: number | null;
  /**
   * Its 95% basic-bootstrap interval over each group's probe images (eval/attention-stats.ts says
   * why basic); absent in records written before it was measured.
   */
  readonly gamDistanceInterval?: Estimate['interval'];
  readonly groups: Record<string, GroupMechanisms>;
}

export type MetricsRecord = StepRecord | EpochRecord;

export interface StripProbe {
  readonly group: string;
  readonly identity: string;
  /** The image, relative to its dataset's root. */
  readonly relative: string;
  /** Its aligned face, relative to the run folder. */
  readonly face: string;
}

/** attention/strip.json: the probe set, and per epoch the PNG of each probe's attention map. */
export interface StripIndex {
  readonly version: 1;
  readonly method: 'gam';
  readonly inputSize: number;
  /** Where the probes come from. */
  readonly source: 'validation' | 'training';
  /** The quantile of each map at which its colours saturate. */
  readonly saturation: number;
  readonly probes: StripProbe[];
  /** Oldest first (epoch 0: before the first step); `maps[k]` is probe k's PNG, relative to the run folder. */
  readonly epochs: { readonly epoch: number; readonly maps: string[] }[];
}

/** How long an epoch of a run would take here, from a few probe steps of the run itself. */
export interface EpochEstimate {
  /** The network the run trains (a fine-tune's is its checkpoint's). */
  readonly network: string;
  readonly backend: string;
  readonly images: number;
  readonly identities: number;
  readonly groups: number;
  readonly stepsPerEpoch: number;
  readonly epochs: number;
  /** Steps timed after the first. */
  readonly probeSteps: number;
  /** The first step, which also compiles the backend's kernels. */
  readonly firstStepSeconds: number;
  /** Mean over the probe steps, image loading included (a first epoch decodes every image). */
  readonly secondsPerStep: number;
  /** Validation after each epoch (0 without a validation set). */
  readonly validationSeconds: number;
  readonly secondsPerEpoch: number;
}
