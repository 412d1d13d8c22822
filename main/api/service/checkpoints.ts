/**
 * The checkpoints a client opened (or the workspace holds): each registered once under an id made
 * from its real path, described from its checkpoint.json, and loaded as an embedder on first use.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { loadEngine } from '../../engine/index.ts';
import { checkpointHash } from '../../eval/embeddings.ts';
import { methodsFor } from '../../gabn/attribution.ts';
import type { AttributionMethod } from '../../gabn/attribution-methods.ts';
import { readCheckpointJson } from '../../models/checkpoint.ts';
import { CHECKPOINT_JSON } from '../../models/checkpoint-schema.ts';
import { type Embedder, loadEmbedder } from '../../models/embedder.ts';
import type { CheckpointDetail, CheckpointSummary } from '../contract.ts';

export interface OpenCheckpoint {
  readonly summary: CheckpointSummary;
  readonly json: Record<string, unknown>;
  embedder?: Promise<Embedder>;
  /** Its files' hash, the embedding cache's key: computed once, not per chunk of embeddings. */
  hash?: string;
}

/** An id made from a real path: the same folder always gets the same id. */
export function idOf(prefix: string, realPath: string): string {
  return `${prefix}-${createHash('sha256').update(realPath).digest('hex').slice(0, 12)}`;
}

export function realPathOf(p: string, what: string): string {
  try {
    return realpathSync(p);
  } catch (error) {
    throw new GabnError('missing-file', `no such ${what}`, { file: p, cause: error });
  }
}

function summarise(id: string, dir: string, json: Record<string, unknown>): CheckpointSummary {
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
    trainable: architecture.family === 'iresnet',
  };
}

/**
 * The methods the app offers for a checkpoint. Every network GABN Studio loads exposes its last
 * convolution stage, and the app always finds a partner image (a pair, the same identity, or the
 * mirror image); what differs is whether the checkpoint has an identity head.
 */
function methodsOf(summary: CheckpointSummary): AttributionMethod[] {
  // A TensorFlow.js graph is run whole: no cut at its last stage, so no Grad-CAM.
  return methodsFor({ head: summary.hasHead, stages: summary.family !== 'tfjs-graph', partner: true });
}

export function createCheckpointRegistry() {
  const open = new Map<string, OpenCheckpoint>();

  function register(dir: string): OpenCheckpoint {
    const real = realPathOf(dir, 'checkpoint');
    const id = idOf('c', real);
    const known = open.get(id);
    if (known) return known;
    if (!existsSync(path.join(real, CHECKPOINT_JSON))) {
      throw new GabnError('missing-file', `not a checkpoint: no ${CHECKPOINT_JSON}`, {
        file: real,
        expected: 'a <name>.gabn directory',
      });
    }
    const json = readCheckpointJson(real, { anyArchitecture: true }) as unknown as Record<string, unknown>;
    const entry: OpenCheckpoint = { summary: summarise(id, real, json), json };
    open.set(id, entry);
    return entry;
  }

  function get(id: string): OpenCheckpoint {
    const entry = open.get(id);
    if (!entry)
      throw new GabnError('usage', `no open checkpoint '${id}'`, {
        expected: 'the id of an opened checkpoint',
      });
    return entry;
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

  return {
    register,
    get,
    embedderOf,
    list: (): CheckpointSummary[] => [...open.values()].map((c) => c.summary),
    size: () => open.size,
    paths: () => [...open.values()].map((c) => c.summary.path),
    /** Opens the checkpoint and loads its network, so a broken one is refused at once. */
    async openAndLoad(dir: string): Promise<CheckpointSummary> {
      const entry = register(dir);
      try {
        await embedderOf(entry);
      } catch (error) {
        open.delete(entry.summary.id);
        throw error;
      }
      return entry.summary;
    },
    describe(id: string): CheckpointDetail {
      const c = get(id);
      // As they are on disk now, without following links (a dangling or hostile link is not listed).
      const files = readdirSync(c.summary.path, { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => entry.name)
        .sort()
        .map((name) => ({ name, bytes: lstatSync(path.join(c.summary.path, name)).size }));
      return {
        ...c.summary,
        formatVersion: c.json.formatVersion as number,
        provenance: c.json.provenance as Record<string, unknown>,
        architectureJson: c.json.architecture as Record<string, unknown>,
        files,
        methods: methodsOf(c.summary),
      };
    },
    /** The hash that keys a checkpoint's embedding cache, computed once. */
    hashOf(entry: OpenCheckpoint): string {
      entry.hash ??= checkpointHash(entry.summary.path);
      return entry.hash;
    },
    async close(): Promise<void> {
      for (const c of open.values()) {
        const embedder = await c.embedder?.catch(() => undefined);
        embedder?.dispose();
      }
    },
  };
}

export type CheckpointRegistry = ReturnType<typeof createCheckpointRegistry>;
