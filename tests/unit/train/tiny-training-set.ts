/**
 * A small synthetic training set (4 identities, one per group, 4 images each, 32 px) and test set (RFW
 * layout, 20 identities per group) for the run, resume and ablation tests: 2 steps per epoch at
 * batch 8.
 */
import path from 'node:path';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../../../main/data/synth/generate.ts';

export async function makeTinyTrainingSet(root: string): Promise<{ data: string; val: string }> {
  await generateSyntheticDataset(
    path.join(root, 'synthetic'),
    {
      ...DEFAULT_SYNTH,
      seed: 5,
      ids: 20,
      images: 2,
      trainIds: 4,
      trainImages: 4,
      trainMix: [0.25, 0.25, 0.25, 0.25],
      size: 32,
    },
    { force: true },
  );
  return { data: path.join(root, 'synthetic', 'train'), val: path.join(root, 'synthetic', 'rfw') };
}
