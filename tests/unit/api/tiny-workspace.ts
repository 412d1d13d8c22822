/**
 * A small workspace for the API, host and end-to-end tests: synthetic faces in the RFW layout (four
 * groups, 20 identities of 2 images each, 64 px) and a tiny iResNet checkpoint with a head (32 px).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../../../main/data/synth/generate.ts';
import { writeTinyCheckpoint } from '../../helpers/tiny-checkpoint.ts';

export interface TinyWorkspace {
  readonly workspace: string;
  /** The RFW-style test set: <workspace>/synthetic/rfw (found by the service at start). */
  readonly rfw: string;
  /** Outside the folders the service discovers: the tests open it by path. */
  readonly checkpoint: string;
}

export async function makeTinyWorkspace(workspace: string): Promise<TinyWorkspace> {
  await generateSyntheticDataset(
    path.join(workspace, 'synthetic'),
    { ...DEFAULT_SYNTH, seed: 3, ids: 20, images: 2, trainIds: 0, size: 64 },
    { force: true },
  );
  const models = path.join(workspace, 'models');
  mkdirSync(models, { recursive: true });
  const checkpoint = await writeTinyCheckpoint(models);
  return { workspace, rfw: path.join(workspace, 'synthetic', 'rfw'), checkpoint };
}
