/**
 * The Train and Runs views' part of the API contract (contract.ts re-exports it): a training run's
 * parameters, what the form offers, a run as the Runs view lists it, its metrics, an ablation.
 * Plain data, as everything the contract carries.
 */
import type { SettingField, SettingProblem, TrainingConfig } from '../gabn/training-config.ts';
import type { Estimate } from '../report/report-model.ts';
import type { EpochRecord, Mechanisms, MetricsRecord, StripIndex } from '../usecases/training/records.ts';
import type { JobInfo } from './contract.ts';

/**
 * A training run as the Train view launches it: `gabn train`'s parameters, the configuration whole
 * (checked by the same schema as the CLI's --set). Paths may be relative to the workspace.
 */
export interface TrainJobParams {
  readonly preset: string;
  readonly config: TrainingConfig;
  /** The training set (BUPT layout or a manifest CSV). */
  readonly data: string;
  /** A test set with pairs, validated on after each epoch. */
  readonly val?: string;
  /** The checkpoint a fine-tune starts from. */
  readonly from?: string;
}

/** The time-per-epoch estimate of a run: a few probe steps of it, in a job of its own. */
export interface TrainEstimateParams extends TrainJobParams {
  /** Steps timed after the first (default 3). */
  readonly probeSteps?: number;
}

/** One trained run an ablation compares. */
export interface AblationRunRef {
  /** The train job. */
  readonly id: string;
  readonly preset: string;
  readonly seed: number;
  readonly label: string;
}

/** The comparison that ends an ablation: every run's final checkpoint audited on the same pairs. */
export interface AblationJobParams {
  readonly runs: AblationRunRef[];
  readonly val: string;
  readonly bootstrap?: number;
}

/** The result of an 'ablation' job: ablation.json's rows, and the files written in its run folder. */
export interface AblationResult {
  readonly rows: {
    readonly preset: string;
    readonly seed: number;
    readonly checkpoint: string;
    readonly groups: Record<string, Estimate>;
    readonly average: Estimate;
    readonly std: Estimate;
    readonly ser: Estimate;
    /** The mechanism figures of the run's last epoch; null for a checkpoint written without them. */
    readonly mechanisms: Mechanisms | null;
  }[];
  readonly files: readonly string[];
}

export interface ExportJobParams {
  readonly source: string;
  readonly out: string;
  readonly float16: boolean;
}

export interface PresetInfo {
  readonly name: string;
  readonly description: string;
  /** Starts from a checkpoint (a fine-tune). */
  readonly needsCheckpoint: boolean;
}

/** What the Train view's form offers, read from the engine's own declarations. */
export interface TrainingOptions {
  readonly presets: PresetInfo[];
  /** The named configurations (paper, small, tiny). */
  readonly configs: string[];
  /** `resolved[config][preset]`: the configuration a preset gives over a named one. */
  readonly resolved: Record<string, Record<string, TrainingConfig>>;
  /** Every setting, with what it expects. */
  readonly fields: SettingField[];
  /** The rows of Table 4: the presets an ablation trains. */
  readonly table4: string[];
  /** What the workspace holds to train with: its training set, test set, and a checkpoint to fine-tune. */
  readonly suggested: { readonly data?: string; readonly val?: string; readonly from?: string };
}

/**
 * A problem of a training request at one field: a setting's dotted path ('optimizer.learningRate'),
 * or 'preset', 'data', 'val', 'from'.
 */
export type TrainingProblem = SettingProblem;

/** A training run as the Runs view lists it. */
export interface RunSummary {
  readonly job: JobInfo;
  readonly preset?: string;
  /** Epochs the run trains for. */
  readonly epochs?: number;
  /** The end of every epoch so far, with its validation (metrics.jsonl's epoch records). */
  readonly epochRecords: EpochRecord[];
  /** The run's checkpoints, relative to its folder, in order. */
  readonly checkpoints: string[];
}

export interface RunMetricsRequest {
  readonly jobId: string;
  /** Records already held: the answer starts after them (default 0: all). */
  readonly from?: number;
}

export interface RunMetrics {
  readonly records: MetricsRecord[];
  /** Records in the file: the next request's `from`. */
  readonly next: number;
}

export interface RunExportRequest {
  readonly jobId: string;
  /** Relative to the run folder (default: its last checkpoint). */
  readonly checkpoint?: string;
}

export interface AblationRequest {
  /** The configuration, data and starting checkpoint every run shares; each preset sets its modules. */
  readonly base: TrainJobParams;
  /** Rows of Table 4 to train. */
  readonly presets: string[];
  /** Runs per preset, with seeds base, base+1, … */
  readonly seeds: number;
  readonly bootstrap?: number;
}

/** What a job shows of its place in a run's life and in the queue (contract.ts's JobInfo holds them). */
export interface QueueFields {
  /** Where it is, in words ("epoch 2, step 14/50"). */
  readonly message?: string;
  /** A training run's epoch and the checkpoint a resume starts from (relative to runDir). */
  readonly training?: {
    readonly epoch: number;
    readonly stepsPerEpoch: number;
    readonly checkpoint?: string;
  };
  /**
   * Worked on by a process the app did not start (`gabn train --out` into the workspace's runs
   * folder): listed, read and stopped, but its events do not reach the app.
   */
  readonly external?: boolean;
  /** Its place in its queue (1: next to start) while it waits. */
  readonly queuePosition?: number;
  /** Jobs it waits for (an ablation's comparison waits for its runs). */
  readonly after?: string[];
}

/** The parameters of the training kinds of job (contract.ts's JobParams holds them too). */
export interface TrainingJobParams {
  train: TrainJobParams;
  'train-estimate': TrainEstimateParams;
  ablation: AblationJobParams;
  'export-checkpoint': ExportJobParams;
}

/** The Train and Runs views' methods (contract.ts's GabnApi holds them too). */
export interface TrainingApi {
  /** Presets, named configurations, every setting with what it expects, and the workspace's suggestions. */
  describeTraining(): Promise<TrainingOptions>;
  /** Every problem of a training request, at its field; empty when it can start. */
  validateTraining(request: TrainJobParams): Promise<TrainingProblem[]>;
  /** Every training run in the workspace's runs folder, the app's and the CLI's. */
  listRuns(): Promise<RunSummary[]>;
  readRunMetrics(request: RunMetricsRequest): Promise<RunMetrics>;
  /** A run's attention strip (attention/strip.json), or null before it has one. */
  readRunStrip(jobId: string): Promise<StripIndex | null>;
  /** The last lines of a run's log.txt. */
  readRunLog(request: { jobId: string; lines?: number }): Promise<string>;
  /** A training run stops after its current step, with a resume point ('stopped'). */
  stopJob(id: string): Promise<JobInfo>;
  /** Queues a stopped, interrupted, failed or cancelled run again: it continues from its last checkpoint. */
  resumeJob(id: string): Promise<JobInfo>;
  /** Deletes a run's folder; refused while the run is queued or running. */
  deleteRun(id: string): Promise<{ deleted: string }>;
  /** Exports a run's checkpoint in float16 without training state into the workspace's checkpoints (a job). */
  exportRunCheckpoint(request: RunExportRequest): Promise<JobInfo>;
  /** Queues the Table 4 grid (presets × seeds) and its comparison, which starts when they are done. */
  startAblation(request: AblationRequest): Promise<{ runs: JobInfo[]; comparison: JobInfo }>;
}
