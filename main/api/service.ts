/**
 * The API contract implemented on the engine: datasets (main/data), checkpoints (main/models),
 * attention maps and erasure masks (main/gabn), verification (main/eval), and jobs (main/jobs) for
 * everything that runs over a whole dataset. Both hosts (Electron IPC, the browser host) call this;
 * they validate every argument first (validation.ts), and so does `call` here.
 *
 * One image's map, masks and pairs are computed in this process (a fraction of a second to a few
 * seconds) one at a time; work over a dataset goes to a worker process.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset, FaceImage } from '../data/dataset.ts';
import { alignedPixels, flipHorizontal, loadAlignedImage } from '../data/image.ts';
import { loadDataset } from '../data/load-dataset.ts';
import { loadEngine, tf } from '../engine/index.ts';
import { GabnError } from '../errors.ts';
import { checkpointHash, embedImages } from '../eval/embeddings.ts';
import { l2Normalize, squaredDistance } from '../eval/pair-distances.ts';
import { verify } from '../eval/verification.ts';
import { encodePng } from '../gabn/attention-figures.ts';
import { partnerIndex } from '../gabn/attention-job.ts';
import { massFraction, normalisedEntropy } from '../gabn/attention-stats.ts';
import { computeAttribution } from '../gabn/attribution.ts';
import { randomEraseMasks, sensitiveRegionMasks } from '../gabn/masks.ts';
import { createPrng } from '../gabn/prng.ts';
import { createJobRunner, type JobRunner, runsDirOf } from '../jobs/runner.ts';
import { SOFTWARE_VERSION } from '../models/checkpoint.ts';
import { CHECKPOINT_JSON, parseCheckpointJson } from '../models/checkpoint-schema.ts';
import { type Embedder, loadEmbedder } from '../models/embedder.ts';
import { resolveContained } from './containment.ts';
import type {
  ApiArgument,
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiResult,
  AttributionMap,
  AttributionMethod,
  CheckpointDetail,
  CheckpointSummary,
  DatasetSummary,
  GabnApi,
  GroupSummary,
  ImageBytes,
  ImageEntry,
  JobInfo,
  MaskResult,
  PairEntry,
} from './contract.ts';
import { missingDemoParts } from './demo-workspace.ts';
import { LruCache } from './lru.ts';
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

interface OpenCheckpoint {
  readonly summary: CheckpointSummary;
  readonly json: Record<string, unknown>;
  embedder?: Promise<Embedder>;
  /** Its files' hash, the embedding cache's key: computed once, not per chunk of embeddings. */
  hash?: string;
}

interface OpenDataset {
  readonly summary: DatasetSummary;
  readonly dataset: Dataset;
  /** Each image's partner for the pair methods (first genuine pair, else same identity). */
  readonly partner: (index: number) => number | undefined;
}

interface GroupVerdicts {
  readonly distance: Map<number, number>;
  readonly foldThresholds: Float64Array;
  readonly accuracy: number;
}

function idOf(prefix: string, realPath: string): string {
  return `${prefix}-${createHash('sha256').update(realPath).digest('hex').slice(0, 12)}`;
}

function realDirectory(p: string, what: string): string {
  try {
    return realpathSync(p);
  } catch (error) {
    throw new GabnError('missing-file', `no such ${what}`, { file: p, cause: error });
  }
}

function mimeOf(file: string): string {
  const ext = path.extname(file).toLowerCase();
  return ext === '.png'
    ? 'image/png'
    : ext === '.jpg' || ext === '.jpeg'
      ? 'image/jpeg'
      : 'application/octet-stream';
}

function bytes(mime: string, data: Uint8Array): ImageBytes {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { mime, base64: buffer.toString('base64'), etag: createHash('sha1').update(buffer).digest('hex') };
}

/** NaN (an all-zero map has no mass to share) travels as null: JSON has no NaN. */
function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function entryOf(image: FaceImage, id: number): ImageEntry {
  return { id, relative: image.relative, identity: image.identity, group: image.group };
}

function summariseDataset(id: string, dataset: Dataset): DatasetSummary {
  const groups: GroupSummary[] = dataset.groups.map((name) => {
    const images = dataset.images.filter((i) => i.group === name);
    return {
      name,
      images: images.length,
      identities: new Set(images.map((i) => i.identity)).size,
      pairs: dataset.pairs.filter((p) => p.group === name).length,
    };
  });
  return {
    id,
    path: dataset.root,
    format: dataset.format,
    groups,
    images: dataset.images.length,
    pairs: dataset.pairs.length,
    problems: dataset.problems.length,
  };
}

function summariseCheckpoint(id: string, dir: string, json: Record<string, unknown>): CheckpointSummary {
  const architecture = json.architecture as { family?: string; name?: string };
  return {
    id,
    path: dir,
    name: path.basename(dir),
    family: String(architecture.family),
    architecture: String(architecture.name),
    inputSize: json.inputSize as number,
    embeddingSize: json.embeddingSize as number,
    parameterCount: json.parameterCount as number,
    groups: json.groups as string[],
    classCount: json.classCount as number,
    hasHead: json.head !== undefined,
  };
}

/** Checkpoints and datasets found in a workspace laid out by `gabn start`. */
function discover(workspace: string): { checkpoints: string[]; datasets: string[] } {
  const checkpoints: string[] = [];
  for (const folder of [workspace, path.join(workspace, 'checkpoints')]) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) {
      if (name.endsWith('.gabn') && existsSync(path.join(folder, name, CHECKPOINT_JSON))) {
        checkpoints.push(path.join(folder, name));
      }
    }
  }
  const datasets = [path.join(workspace, 'synthetic', 'rfw')].filter((d) => existsSync(d));
  return { checkpoints, datasets };
}

export function createService(options: ServiceOptions): GabnService {
  const workspace = path.resolve(options.workspace);
  const runner = createJobRunner({ runsDir: runsDirOf(workspace) });
  const checkpoints = new Map<string, OpenCheckpoint>();
  const datasets = new Map<string, OpenDataset>();
  const maps = new LruCache<string, AttributionMap>(options.cacheEntries ?? 256);
  const verdicts = new LruCache<string, Promise<GroupVerdicts>>(32);
  const embeddingCacheDir = options.embeddingCacheDir;
  const work = createWorkQueue();
  /** Embeddings for pair scores are computed this many images at a time, so maps can cut in. */
  const EMBED_CHUNK = 8;

  function registerCheckpoint(dir: string): OpenCheckpoint {
    const real = realDirectory(dir, 'checkpoint');
    const id = idOf('c', real);
    const known = checkpoints.get(id);
    if (known) return known;
    const file = path.join(real, CHECKPOINT_JSON);
    if (!existsSync(file)) {
      throw new GabnError('missing-file', `not a checkpoint: no ${CHECKPOINT_JSON}`, {
        file: real,
        expected: 'a <name>.gabn directory',
      });
    }
    const json = parseCheckpointJson(readFileSync(file, 'utf8'), file, {
      anyArchitecture: true,
    }) as unknown as Record<string, unknown>;
    const entry: OpenCheckpoint = { summary: summariseCheckpoint(id, real, json), json };
    checkpoints.set(id, entry);
    return entry;
  }

  function registerDataset(target: string): OpenDataset {
    const real = realDirectory(target, 'dataset');
    const id = idOf('d', real);
    const known = datasets.get(id);
    if (known) return known;
    const dataset = loadDataset(real);
    const entry: OpenDataset = {
      summary: summariseDataset(id, dataset),
      dataset,
      partner: partnerIndex(dataset),
    };
    datasets.set(id, entry);
    return entry;
  }

  /** Registers what the workspace holds; returns how many checkpoints and datasets are new. */
  function discoverWorkspace(): { checkpoints: number; datasets: number } {
    const before = { checkpoints: checkpoints.size, datasets: datasets.size };
    const found = discover(workspace);
    for (const dir of found.checkpoints) {
      try {
        registerCheckpoint(dir);
      } catch {
        // A broken checkpoint in the workspace is shown when the user opens it, not at start.
      }
    }
    for (const dir of found.datasets) {
      try {
        registerDataset(dir);
      } catch {
        // Same for datasets.
      }
    }
    return { checkpoints: checkpoints.size - before.checkpoints, datasets: datasets.size - before.datasets };
  }
  discoverWorkspace();

  const workspaceListeners = new Set<(payload: ApiEvents['workspace-changed']) => void>();
  // A prepared demo brings new checkpoints and datasets: register them and tell the clients.
  runner.on('job-finished', (job) => {
    if (job.kind !== 'demo-workspace' || job.state !== 'succeeded') return;
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

  function checkpoint(id: string): OpenCheckpoint {
    const entry = checkpoints.get(id);
    if (!entry)
      throw new GabnError('usage', `no open checkpoint '${id}'`, {
        expected: 'the id of an opened checkpoint',
      });
    return entry;
  }

  function dataset(id: string): OpenDataset {
    const entry = datasets.get(id);
    if (!entry)
      throw new GabnError('usage', `no open dataset '${id}'`, { expected: 'the id of an opened dataset' });
    return entry;
  }

  function image(entry: OpenDataset, imageId: number): FaceImage {
    const found = entry.dataset.images[imageId];
    if (!found) {
      throw new GabnError('usage', `no image ${imageId} in ${entry.dataset.root}`, {
        expected: `an image id in [0, ${entry.dataset.images.length - 1}]`,
      });
    }
    return found;
  }

  async function embedderOf(entry: OpenCheckpoint): Promise<Embedder> {
    if (!entry.embedder) {
      entry.embedder = loadEngine().then(() => loadEmbedder(entry.summary.path));
      entry.embedder.catch(() => {
        entry.embedder = undefined;
      });
    }
    return entry.embedder;
  }

  function methodsOf(summary: CheckpointSummary): AttributionMethod[] {
    return summary.hasHead ? ['gam', 'pair-gam', 'grad-cam'] : ['pair-gam', 'grad-cam'];
  }

  async function attribution(
    checkpointId: string,
    datasetId: string,
    imageId: number,
    method: AttributionMethod,
  ): Promise<AttributionMap> {
    const c = checkpoint(checkpointId);
    const d = dataset(datasetId);
    const face = image(d, imageId);
    if (method === 'gam' && !c.summary.hasHead) {
      throw new GabnError('usage', `${c.summary.name} has no identity head, so it has no GAM`, {
        expected: "'pair-gam' or 'grad-cam'",
      });
    }
    const key = `${checkpointId}|${datasetId}|${imageId}|${method}`;
    const cached = maps.get(key);
    if (cached) return cached;
    const result = await work.run('interactive', async () => {
      const embedder = await embedderOf(c);
      const size = embedder.inputSize;
      const x = await loadAlignedImage(face, size);
      // Pair methods compare with a genuine partner; a head-less Grad-CAM does too.
      const needsPartner = method === 'pair-gam' || (method === 'grad-cam' && !embedder.model.head);
      let partnerId: number | undefined;
      let partner: Float32Array | undefined;
      if (needsPartner) {
        partnerId = d.partner(imageId);
        partner =
          partnerId === undefined
            ? flipHorizontal(x, size)
            : await loadAlignedImage(image(d, partnerId), size);
      }
      const images = tf.tensor4d(x, [1, size, size, 3]);
      const partners = partner ? tf.tensor4d(partner, [1, size, size, 3]) : undefined;
      try {
        const r = await computeAttribution(method, embedder.model, images, partners ? { partners } : {});
        const map = r.maps[0]!;
        const values = Buffer.from(map.buffer, map.byteOffset, map.byteLength).toString('base64');
        const out: AttributionMap = {
          method,
          width: r.width,
          height: r.height,
          values,
          rawMax: r.rawMax[0]!,
          massFraction: finiteOrNull(massFraction(map)),
          entropy: finiteOrNull(normalisedEntropy(map)),
          ...(partnerId === undefined ? {} : { partnerId }),
        };
        return out;
      } finally {
        images.dispose();
        partners?.dispose();
      }
    });
    maps.set(key, result);
    return result;
  }

  /** Embeds a group's paired images in background chunks and applies the 10-fold protocol. */
  async function scoreGroup(c: OpenCheckpoint, d: OpenDataset, group: string): Promise<GroupVerdicts> {
    const embedder = await embedderOf(c);
    const pairIndices = d.dataset.pairs.flatMap((p, i) => (p.group === group ? [i] : []));
    const used = [
      ...new Set(pairIndices.flatMap((i) => [d.dataset.pairs[i]!.a, d.dataset.pairs[i]!.b])),
    ].sort((a, b) => a - b);
    const normalised = new Map<number, Float64Array>();
    if (embeddingCacheDir !== null) c.hash ??= checkpointHash(c.summary.path);
    for (let start = 0; start < used.length; start += EMBED_CHUNK) {
      const chunk = used.slice(start, start + EMBED_CHUNK);
      const { embeddings } = await work.run('background', () =>
        embedImages(embedder, c.summary.path, d.dataset.images, chunk, {
          ...(embeddingCacheDir === undefined ? {} : { cacheDir: embeddingCacheDir }),
          ...(c.hash === undefined ? {} : { checkpointHash: c.hash }),
        }),
      );
      for (const [index, e] of embeddings) normalised.set(index, l2Normalize(e));
    }
    const kept = pairIndices.filter(
      (i) => normalised.has(d.dataset.pairs[i]!.a) && normalised.has(d.dataset.pairs[i]!.b),
    );
    const distance = new Map<number, number>();
    for (const i of kept) {
      const p = d.dataset.pairs[i]!;
      distance.set(i, squaredDistance(normalised.get(p.a)!, normalised.get(p.b)!));
    }
    const v = verify({
      distances: Float64Array.from(kept, (i) => distance.get(i)!),
      same: Uint8Array.from(kept, (i) => (d.dataset.pairs[i]!.same ? 1 : 0)),
      folds: Int32Array.from(kept, (i) => d.dataset.pairs[i]!.fold),
    });
    return { distance, foldThresholds: v.foldThresholds, accuracy: v.accuracy };
  }

  /** A group's verdicts, computed once: every image of the group shares one computation. */
  function groupVerdicts(c: OpenCheckpoint, d: OpenDataset, group: string): Promise<GroupVerdicts> {
    const key = `${c.summary.id}|${d.summary.id}|${group}`;
    const known = verdicts.get(key);
    if (known) return known;
    const computing = scoreGroup(c, d, group);
    verdicts.set(key, computing);
    // A failure is not kept: the next request tries again.
    computing.catch(() => verdicts.delete(key));
    return computing;
  }

  const api: GabnApi = {
    async getStatus() {
      const engine = await loadEngine();
      return {
        version: SOFTWARE_VERSION,
        backend: engine.backend,
        why: engine.choice.why,
        workspace,
        host: options.host,
        jobs: runner.list(),
        demoMissing: missingDemoParts(workspace),
      };
    },
    async listCheckpoints() {
      return [...checkpoints.values()].map((c) => c.summary);
    },
    async openCheckpoint(dir) {
      const entry = registerCheckpoint(path.resolve(workspace, dir));
      try {
        await embedderOf(entry);
      } catch (error) {
        checkpoints.delete(entry.summary.id);
        throw error;
      }
      return entry.summary;
    },
    async describeCheckpoint(id) {
      const c = checkpoint(id);
      const files = readdirSync(c.summary.path)
        .filter((name) => statSync(path.join(c.summary.path, name)).isFile())
        .sort()
        .map((name) => ({ name, bytes: statSync(path.join(c.summary.path, name)).size }));
      return {
        ...c.summary,
        formatVersion: c.json.formatVersion as number,
        provenance: c.json.provenance as Record<string, unknown>,
        architectureJson: c.json.architecture as Record<string, unknown>,
        files,
        methods: methodsOf(c.summary),
      } satisfies CheckpointDetail;
    },
    async listDatasets() {
      return [...datasets.values()].map((d) => d.summary);
    },
    async openDataset(target) {
      return registerDataset(path.resolve(workspace, target)).summary;
    },
    async listGroups(datasetId) {
      return dataset(datasetId).summary.groups;
    },
    async listImages(request) {
      const d = dataset(request.datasetId);
      if (request.group !== undefined && !d.dataset.groups.includes(request.group)) {
        throw new GabnError('usage', `no group '${request.group}' in ${d.dataset.root}`, {
          expected: `one of ${d.dataset.groups.join(', ')}`,
        });
      }
      const needle = request.identity?.toLowerCase();
      const matching: ImageEntry[] = [];
      d.dataset.images.forEach((img, i) => {
        if (request.group !== undefined && img.group !== request.group) return;
        if (needle !== undefined && !img.identity.toLowerCase().includes(needle)) return;
        matching.push(entryOf(img, i));
      });
      const offset = request.offset ?? 0;
      const limit = request.limit ?? 200;
      return { total: matching.length, offset, images: matching.slice(offset, offset + limit) };
    },
    async readImage(request) {
      const d = dataset(request.datasetId);
      const face = image(d, request.imageId);
      if (request.aligned === undefined) return bytes(mimeOf(face.path), await readFile(face.path));
      const pixels = await alignedPixels(face, request.aligned);
      return bytes('image/png', await encodePng({ width: request.aligned, height: request.aligned, pixels }));
    },
    computeAttribution: (r) => attribution(r.checkpointId, r.datasetId, r.imageId, r.method),
    async computeMasks(request) {
      const c = checkpoint(request.checkpointId);
      const d = dataset(request.datasetId);
      image(d, request.imageId);
      const size = c.summary.inputSize;
      const erase = { count: request.n, maxHeight: request.h, maxWidth: request.w };
      const prng = createPrng(request.seed);
      let rects: MaskResult['rects'];
      if (request.kind === 'random') {
        rects = randomEraseMasks(size, size, erase, prng);
      } else {
        const method = request.method ?? (c.summary.hasHead ? 'gam' : 'pair-gam');
        const map = await attribution(request.checkpointId, request.datasetId, request.imageId, method);
        const raw = Buffer.from(map.values, 'base64');
        const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
        rects = sensitiveRegionMasks(values, map.height, map.width, erase, prng);
      }
      return { kind: request.kind, width: size, height: size, rects };
    },
    async listPairs(request) {
      const d = dataset(request.datasetId);
      const face = image(d, request.imageId);
      const mine = d.dataset.pairs.flatMap((p, i) =>
        p.a === request.imageId || p.b === request.imageId ? [{ p, i }] : [],
      );
      let scored: GroupVerdicts | undefined;
      if (request.checkpointId !== undefined && mine.length > 0) {
        scored = await groupVerdicts(checkpoint(request.checkpointId), d, face.group);
      }
      const pairs: PairEntry[] = mine.map(({ p, i }) => {
        const other = p.a === request.imageId ? p.b : p.a;
        const base = { partner: entryOf(d.dataset.images[other]!, other), same: p.same, fold: p.fold };
        const distance = scored?.distance.get(i);
        if (scored === undefined || distance === undefined) return base;
        const threshold = scored.foldThresholds[p.fold]!;
        const predictedSame = distance < threshold;
        return { ...base, distance, threshold, predictedSame, correct: predictedSame === p.same };
      });
      return { pairs, ...(scored ? { groupAccuracy: scored.accuracy } : {}) };
    },
    async groupAverages(request) {
      const c = checkpoint(request.checkpointId);
      const d = dataset(request.datasetId);
      return runner.start('group-averages', {
        datasetPath: d.summary.path,
        checkpointPath: c.summary.path,
        limit: request.limit ?? 32,
        seed: request.seed ?? 1,
        ...(request.method === undefined ? {} : { method: request.method }),
      });
    },
    async startJob(request) {
      return runner.start(request.kind, {
        ...request.params,
        out: path.resolve(workspace, request.params.out),
      });
    },
    async prepareDemoWorkspace() {
      return demoJob();
    },
    async cancelJob(id) {
      return runner.cancel(id);
    },
    async listJobs() {
      return runner.list();
    },
    async readRunFile(request) {
      const job = runner.get(request.jobId);
      const file = resolveContained([job.runDir], request.file, job.runDir);
      return bytes(mimeOf(file), await readFile(file));
    },
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
    allowedRoots() {
      return [
        ...[...datasets.values()].map((d) => d.summary.path),
        ...[...checkpoints.values()].map((c) => c.summary.path),
        runsDirOf(workspace),
      ];
    },
    async close() {
      await runner.close();
      for (const c of checkpoints.values()) {
        const embedder = await c.embedder?.catch(() => undefined);
        embedder?.dispose();
      }
    },
  };
}
