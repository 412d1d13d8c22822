/**
 * The API contract implemented on the engine. Both hosts (Electron IPC, the browser host) call this;
 * `call` validates every argument first (validation.ts). Each concern has its own file under
 * service/: checkpoints, datasets, attribution maps and masks, pair scores; this file puts them
 * together with the jobs (main/jobs) that run everything that works over a whole dataset.
 *
 * One image's map, masks and pairs are computed in this process (a fraction of a second to a few
 * seconds) one at a time; work over a dataset goes to a worker process.
 */
import path from 'node:path';
import { readUntrustedFile } from '../base/untrusted-files.ts';
import { softwareVersion } from '../base/version.ts';
import { gpuOf, loadEngine } from '../engine/index.ts';
import { workspaceQueue } from '../jobs/queue/queue-client.ts';
import { shownQueueUrl } from '../jobs/queue/queue-config.ts';
import { createJobRunner, type JobRunner, runsDirOf } from '../jobs/runner.ts';
import { startAudit } from '../jobs/sharded-audit.ts';
import { checkpointPathFor, formatOf } from '../usecases/import/import-model.ts';
import { missingDemoParts } from '../usecases/workspace/demo-workspace.ts';
import { discoverWorkspace as discover } from '../usecases/workspace/workspace.ts';
import { MAX_SERVED_FILE_BYTES, resolveContained } from './containment.ts';
import type {
  ApiArgument,
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiResult,
  GabnApi,
  JobInfo,
} from './contract.ts';
import { createAttribution } from './service/attribution.ts';
import { auditJobParams } from './service/audits.ts';
import { createCheckpointRegistry } from './service/checkpoints.ts';
import { createDatasetRegistry, imageBytes, mimeOf } from './service/datasets.ts';
import { createPairScoring } from './service/pairs.ts';
import { exportReport } from './service/report-export.ts';
import { createReportRegistry } from './service/reports.ts';
import { createRuns } from './service/runs.ts';
import { createTraining } from './service/training.ts';
import { validateArgument } from './validation.ts';
import { createWorkQueue } from './work-queue.ts';

export interface ServiceOptions {
  readonly workspace: string;
  readonly host: 'electron' | 'browser';
  /** Maps kept in memory (default 256). */
  readonly cacheEntries?: number;
  /** Embedding cache folder for pair scores (default the audit's: $GABN_CACHE_DIR or ~/.cache/gabn-studio). */
  readonly embeddingCacheDir?: string | null;
  /** Start preparing the demo when the workspace lacks it (the app's first start). */
  readonly prepareDemo?: boolean;
}

export interface GabnService extends GabnApi {
  /** Validates `argument` and calls `method`: what both hosts use. */
  call<M extends ApiMethod>(method: M, argument: unknown): Promise<ApiResult<M>>;
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
  /** Folders whose files a host may serve: opened datasets, checkpoints, and the runs folder. */
  allowedRoots(): string[];
  readonly workspace: string;
  readonly runner: JobRunner;
  close(): Promise<void>;
}

/**
 * What a host (the browser host, the Electron shell, the media server) needs of the service: the
 * service itself, or its proxy to a service process (remote-service.ts).
 */
export type HostedService = Pick<
  GabnService,
  'call' | 'on' | 'allowedRoots' | 'workspace' | 'close' | 'computeAttribution' | 'readImage' | 'readRunFile'
>;

export function createService(options: ServiceOptions): GabnService {
  const workspace = path.resolve(options.workspace);
  const queue = workspaceQueue(workspace);
  const runner = createJobRunner({ runsDir: runsDirOf(workspace), ...(queue ? { queue } : {}) });
  const checkpoints = createCheckpointRegistry();
  const datasets = createDatasetRegistry();
  const work = createWorkQueue();
  const attribution = createAttribution({
    checkpoints,
    datasets,
    work,
    cacheEntries: options.cacheEntries ?? 256,
  });
  const pairs = createPairScoring({
    checkpoints,
    datasets,
    work,
    embeddingCacheDir: options.embeddingCacheDir,
  });
  const reports = createReportRegistry({ workspace, checkpoints, datasets });

  /** Registers what the workspace holds; returns how many checkpoints and datasets are new. */
  function discoverWorkspace(): { checkpoints: number; datasets: number } {
    const before = { checkpoints: checkpoints.size(), datasets: datasets.size() };
    const found = discover(workspace);
    // A broken checkpoint or dataset in the workspace is shown when the user opens it, not at start.
    for (const dir of found.checkpoints) {
      try {
        checkpoints.register(dir);
      } catch {}
    }
    for (const dir of found.datasets) {
      try {
        datasets.register(dir);
      } catch {}
    }
    return {
      checkpoints: checkpoints.size() - before.checkpoints,
      datasets: datasets.size() - before.datasets,
    };
  }
  discoverWorkspace();

  const workspaceListeners = new Set<(payload: ApiEvents['workspace-changed']) => void>();
  const training = createTraining(workspace, runner);
  const runs = createRuns(workspace, runner);

  // A prepared demo (or an exported checkpoint) brings new checkpoints and datasets: register them
  // and tell the clients.
  runner.on('job-finished', (job) => {
    if (job.state !== 'succeeded') return;
    if (job.kind !== 'demo-workspace' && job.kind !== 'import-model' && job.kind !== 'export-checkpoint')
      return;
    if (job.kind === 'import-model') {
      try {
        checkpoints.register((job.result as { out: string }).out);
      } catch {}
    }
    const added = discoverWorkspace();
    for (const listener of workspaceListeners) listener(added);
  });

  function demoJob(): JobInfo {
    const active = runner
      .list()
      .find((j) => j.kind === 'demo-workspace' && (j.state === 'queued' || j.state === 'running'));
    return active ?? runner.start('demo-workspace', { workspace });
  }
  if (options.prepareDemo === true && missingDemoParts(workspace).length > 0) demoJob();

  const api: GabnApi = {
    async getStatus() {
      const engine = await loadEngine();
      return {
        version: softwareVersion().version,
        backend: engine.backend,
        why: engine.choice.why,
        gpu: gpuOf(engine.choice),
        workspace,
        host: options.host,
        jobs: runner.list(),
        demoMissing: missingDemoParts(workspace),
        ...(queue ? { queue: shownQueueUrl(queue.url) } : {}),
      };
    },
    listCheckpoints: async () => checkpoints.list(),
    openCheckpoint: (dir) => checkpoints.openAndLoad(path.resolve(workspace, dir)),
    describeCheckpoint: async (id) => checkpoints.describe(id),
    listDatasets: async () => datasets.list(),
    openDataset: async (target) => datasets.register(path.resolve(workspace, target)).summary,
    listGroups: async (datasetId) => datasets.get(datasetId).summary.groups,
    listImages: async (request) => datasets.listImages(request),
    readImage: (request) => datasets.readImage(request),
    computeAttribution: (request) => attribution.compute(request),
    computeMasks: (request) => attribution.masks(request),
    listPairs: (request) => pairs.listPairs(request),
    async groupAverages(request) {
      const c = checkpoints.get(request.checkpointId);
      const d = datasets.get(request.datasetId);
      return runner.start('group-averages', {
        datasetPath: d.summary.path,
        checkpointPath: c.summary.path,
        limit: request.limit ?? 32,
        seed: request.seed ?? 1,
        ...(request.method === undefined ? {} : { method: request.method }),
      });
    },
    async startJob(request) {
      if (request.kind === 'audit') return startAudit(runner, auditJobParams(workspace, request.params));
      if (request.kind === 'train') return training.start(request.params);
      if (request.kind === 'train-estimate') return training.estimate(request.params);
      return runner.start(request.kind, {
        ...request.params,
        out: path.resolve(workspace, request.params.out),
      });
    },
    prepareDemoWorkspace: async () => demoJob(),
    async importModel(request) {
      const source = path.resolve(workspace, request.path);
      const format = formatOf(source);
      return runner.start('import-model', {
        source,
        out: checkpointPathFor(source, path.join(workspace, 'models')),
        ...(request.arch === undefined ? {} : { depth: Number(request.arch.slice(1)) }),
        ...(request.force === undefined ? {} : { force: request.force }),
        format,
      });
    },
    cancelJob: async (id) => runner.cancel(id),
    listJobs: async () => runner.list(),
    async readRunFile(request) {
      const job = runner.get(request.jobId);
      const file = resolveContained([job.runDir], request.file, job.runDir);
      return imageBytes(
        mimeOf(file),
        readUntrustedFile(file, { what: 'the run file', maxBytes: MAX_SERVED_FILE_BYTES }),
      );
    },
    listReports: async () => reports.list(),
    openReport: async (id) => reports.open(id),
    exportReport: (request) => exportReport(reports, request),
    describeTraining: async () => training.describe(),
    validateTraining: async (request) => training.validate(request),
    listRuns: async () => runs.list(),
    readRunMetrics: async (request) => runs.metrics(request),
    readRunStrip: async (id) => runs.strip(id),
    readRunLog: (request) => runs.log(request),
    stopJob: async (id) => runner.stop(id),
    resumeJob: async (id) => runner.resume(id),
    async deleteRun(id) {
      runner.remove(id);
      return { deleted: id };
    },
    exportRunCheckpoint: async (request) => runs.exportJob(request),
    startAblation: async (request) => training.ablation(request),
  };

  return {
    ...api,
    workspace,
    runner,
    async call(method, argument) {
      const valid = validateArgument(method, argument);
      const fn = api[method] as (argument: ApiArgument<typeof method>) => Promise<ApiResult<typeof method>>;
      return fn(valid);
    },
    on(event, listener) {
      if (event !== 'workspace-changed') return runner.on(event, listener);
      const workspaceListener = listener as (payload: ApiEvents['workspace-changed']) => void;
      workspaceListeners.add(workspaceListener);
      return () => workspaceListeners.delete(workspaceListener);
    },
    allowedRoots: () => [...datasets.paths(), ...checkpoints.paths(), runsDirOf(workspace)],
    async close() {
      await runner.close();
      await checkpoints.close();
    },
  };
}
