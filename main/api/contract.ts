/**
 * The one typed API between the GUI and the engine. Both hosts implement it for the renderer: the
 * Electron host (preload `window.gabn`, validated IPC) and the browser host (`gabn serve`, HTTP +
 * WebSocket). The renderer imports only types from this file; everything here is plain data that
 * survives JSON and structured clone alike (numbers, strings, arrays, objects; binary as base64).
 */

import type { AttributionMethod } from '../gabn/attribution-methods.ts';
import type { MetricsRecord } from '../usecases/training/records.ts';
import type {
  AttributionMap,
  AttributionRequest,
  GroupAveragesRequest,
  ImageBytes,
  ImagePage,
  ImageQuery,
  ImageRequest,
  MaskRequest,
  MaskResult,
  PairsRequest,
  PairsResult,
} from './contract-browse.ts';
import type {
  AuditJobParams,
  AuditShardJobParams,
  ReportExportRequest,
  ReportFile,
  ReportSummary,
  ReportView,
} from './contract-reports.ts';
import type {
  QueueFields,
  TrainEstimateParams,
  TrainingApi,
  TrainingJobParams,
  TrainJobParams,
} from './training-contract.ts';

export type { AttributionMethod } from '../gabn/attribution-methods.ts';
export type { SettingField, SettingProblem, TrainingConfig } from '../gabn/training-config.ts';
export type { AuditReport, Estimate, JsonInterval } from '../report/report-model.ts';
export type * from '../usecases/training/records.ts';
export type * from './contract-browse.ts';
export type * from './contract-reports.ts';
export type * from './training-contract.ts';
export type JobKind =
  | 'synth'
  | 'group-averages'
  | 'demo-workspace'
  | 'import-model'
  | 'audit'
  | 'audit-shard'
  | keyof TrainingJobParams;
export type JobState =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'stopped'
  | 'interrupted';

/** A failure as the renderer sees it: GabnError's fields, without a stack (base/errors.ts's ErrorFields). */
export interface ApiError {
  readonly kind: string;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly expected?: string;
}

export interface JobProgress {
  readonly done: number;
  readonly total: number;
  readonly message?: string;
}

export interface JobInfo extends QueueFields {
  readonly id: string;
  readonly kind: JobKind;
  readonly state: JobState;
  readonly params: Record<string, unknown>;
  /** ISO 8601 times. */
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly progress?: JobProgress;
  /** Why a job failed or was interrupted, with the tail of its log. */
  readonly error?: string;
  /** The run directory (config.json, status.json, log.txt, result.json, outputs). */
  readonly runDir: string;
  /** What the job produced (see each kind's result type), once it succeeded. */
  readonly result?: unknown;
  /** The queue worker that runs it, or ran it last ("host/pid"), when a queue runs the jobs. */
  readonly worker?: string;
}

export interface Status {
  readonly version: string;
  /** The TensorFlow.js backend in use and why it was chosen (as `gabn doctor` says). */
  readonly backend: string;
  readonly why: string;
  /** The GPU adapter the webgpu rung found and whether it is used, or why not (as `gabn doctor` says). */
  readonly gpu?: GpuStatus;
  readonly workspace: string;
  readonly host: 'electron' | 'browser';
  readonly jobs: JobInfo[];
  /** What the workspace's demo still lacks (empty when it is ready); see prepareDemoWorkspace. */
  readonly demoMissing: string[];
  /** The Redis queue the jobs go to, without its credentials, when there is one (docs/scale-out.md). */
  readonly queue?: string;
}

export interface GpuStatus {
  /** "NVIDIA ampere (NVIDIA GeForce RTX 3080), buffers up to 2 GiB", or null where none was found. */
  readonly adapter: string | null;
  /** "in use", or why not: no adapter, a software adapter refused, a higher rung won. */
  readonly state: string;
}

export interface CheckpointSummary {
  readonly id: string;
  readonly path: string;
  readonly name: string;
  readonly family: string;
  readonly architecture: string;
  readonly inputSize: number;
  readonly embeddingSize: number;
  readonly parameterCount: number;
  readonly groups: string[];
  /** Identities of the head; 0 for a network without one (imported embedders). */
  readonly classCount: number;
  readonly hasHead: boolean;
  /** Whether GABN Studio can fine-tune it: iResNets only (TensorFlow.js graphs and face-api are audited). */
  readonly trainable: boolean;
}

export interface CheckpointDetail extends CheckpointSummary {
  readonly formatVersion: number;
  /** checkpoint.json's provenance (data, config, software version, creation time, metrics, source). */
  readonly provenance: Record<string, unknown>;
  /** The architecture as checkpoint.json records it. */
  readonly architectureJson: Record<string, unknown>;
  /** Weight files and their sizes in bytes. */
  readonly files: { name: string; bytes: number }[];
  /** Which attribution methods this network supports. */
  readonly methods: AttributionMethod[];
}

export interface GroupSummary {
  readonly name: string;
  readonly images: number;
  readonly identities: number;
  readonly pairs: number;
}

export interface DatasetSummary {
  readonly id: string;
  readonly path: string;
  readonly format: string;
  readonly groups: GroupSummary[];
  readonly images: number;
  readonly pairs: number;
  readonly problems: number;
}

export interface SynthJobParams {
  readonly out: string;
  readonly seed?: number;
  readonly ids?: number;
  readonly images?: number;
  readonly trainIds?: number;
  readonly size?: number;
}

/** Imports a model file (.onnx, .pth, .pt, .safetensors, model.json) into the workspace's models/ folder. */
export interface ImportModelRequest {
  readonly path: string;
  /** iResNets: the depth the file should have (r18 … r200), checked against it. */
  readonly arch?: 'r18' | 'r34' | 'r50' | 'r100' | 'r200';
  /** Replace a checkpoint already imported under the same name. */
  readonly force?: boolean;
}

/** The result of an 'import-model' job. */
export interface ImportModelResult {
  readonly out: string;
  readonly format: string;
  readonly architecture: string;
  readonly trainable: boolean;
  readonly notes: string[];
}

export interface DemoWorkspaceJobParams {
  readonly workspace: string;
}

export interface JobParams extends TrainingJobParams {
  synth: SynthJobParams;
  'demo-workspace': DemoWorkspaceJobParams;
  'import-model': {
    source: string;
    out: string;
    format: 'onnx' | 'pytorch' | 'tfjs-graph';
    depth?: number;
    force?: boolean;
  };
  'group-averages': {
    datasetPath: string;
    checkpointPath: string;
    limit: number;
    method?: AttributionMethod;
    seed: number;
  };
  audit: AuditJobParams;
  'audit-shard': AuditShardJobParams;
}

export interface RunFileRequest {
  readonly jobId: string;
  /** Relative to the run directory. */
  readonly file: string;
}

/** Every method the renderer can call; each takes at most one argument and returns a promise. */
export interface GabnApi extends TrainingApi {
  getStatus(): Promise<Status>;
  listCheckpoints(): Promise<CheckpointSummary[]>;
  openCheckpoint(path: string): Promise<CheckpointSummary>;
  describeCheckpoint(id: string): Promise<CheckpointDetail>;
  listDatasets(): Promise<DatasetSummary[]>;
  openDataset(path: string): Promise<DatasetSummary>;
  listGroups(datasetId: string): Promise<GroupSummary[]>;
  listImages(request: { datasetId: string } & ImageQuery): Promise<ImagePage>;
  readImage(request: ImageRequest): Promise<ImageBytes>;
  computeAttribution(request: AttributionRequest): Promise<AttributionMap>;
  computeMasks(request: MaskRequest): Promise<MaskResult>;
  listPairs(request: PairsRequest): Promise<PairsResult>;
  /** Starts a 'group-averages' job; its result is a GroupAveragesResult. */
  groupAverages(request: GroupAveragesRequest): Promise<JobInfo>;
  startJob(
    request:
      | { kind: 'synth'; params: SynthJobParams }
      | { kind: 'audit'; params: AuditJobParams }
      | { kind: 'train'; params: TrainJobParams }
      | { kind: 'train-estimate'; params: TrainEstimateParams },
  ): Promise<JobInfo>;
  /**
   * Makes what the workspace's demo lacks (synthetic faces, demo checkpoints) in a 'demo-workspace'
   * job, or returns the one already running; 'workspace-changed' follows when it succeeds.
   */
  prepareDemoWorkspace(): Promise<JobInfo>;
  /**
   * Imports a model file into the workspace as a checkpoint in an 'import-model' job (its result is an
   * ImportModelResult); the checkpoint is opened and 'workspace-changed' follows when it succeeds.
   */
  importModel(request: ImportModelRequest): Promise<JobInfo>;
  cancelJob(id: string): Promise<JobInfo>;
  listJobs(): Promise<JobInfo[]>;
  readRunFile(request: RunFileRequest): Promise<ImageBytes>;
  /** Every report in the workspace: the app's audits, `gabn audit --out` files, ablations. */
  listReports(): Promise<ReportSummary[]>;
  /** A report with what the app shows of it (images, checkpoints and dataset opened). */
  openReport(id: string): Promise<ReportView>;
  /** A report rendered as HTML, PDF (printed by Chromium), JSON or CSV, faces left out on request. */
  exportReport(request: ReportExportRequest): Promise<ReportFile>;
}

export type ApiMethod = keyof GabnApi;

export const API_METHODS = [
  'getStatus',
  'listCheckpoints',
  'openCheckpoint',
  'describeCheckpoint',
  'listDatasets',
  'openDataset',
  'listGroups',
  'listImages',
  'readImage',
  'computeAttribution',
  'computeMasks',
  'listPairs',
  'groupAverages',
  'startJob',
  'prepareDemoWorkspace',
  'importModel',
  'cancelJob',
  'listJobs',
  'readRunFile',
  'listReports',
  'openReport',
  'exportReport',
  'describeTraining',
  'validateTraining',
  'listRuns',
  'readRunMetrics',
  'readRunStrip',
  'readRunLog',
  'stopJob',
  'resumeJob',
  'deleteRun',
  'exportRunCheckpoint',
  'startAblation',
] as const satisfies readonly ApiMethod[];

export type ApiArgument<M extends ApiMethod> = Parameters<GabnApi[M]> extends [infer A] ? A : undefined;
export type ApiResult<M extends ApiMethod> = Awaited<ReturnType<GabnApi[M]>>;

/** Events pushed to every client. */
export interface ApiEvents {
  'job-progress': { id: string; progress: JobProgress };
  'job-log': { id: string; line: string };
  'job-finished': JobInfo;
  /** A record a job wrote to its metrics.jsonl (a training run: every step and epoch). */
  'job-metrics': { id: string; record: MetricsRecord };
  /** New checkpoints or datasets were found in the workspace (e.g. the demo was prepared). */
  'workspace-changed': { checkpoints: number; datasets: number };
}

export type ApiEventName = keyof ApiEvents;
export const API_EVENTS = [
  'job-progress',
  'job-log',
  'job-finished',
  'workspace-changed',
  'job-metrics',
] as const satisfies readonly ApiEventName[];

/** What a host hands to the renderer: the API plus event subscription. */
export interface GabnBridge {
  call<M extends ApiMethod>(method: M, argument: ApiArgument<M>): Promise<ApiResult<M>>;
  /** Returns a function that unsubscribes. */
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}
