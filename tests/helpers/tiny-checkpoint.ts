/** A tiny iResNet checkpoint with a head, for tests that need a real checkpoint on disk (32×32 input). */
import path from 'node:path';
import { createIResNet, createMarginHead, iresnetSpec, saveCheckpoint } from '../../main/models/index.ts';

export async function writeTinyCheckpoint(
  dir: string,
  groups: string[] = ['Alpha', 'Beta'],
): Promise<string> {
  const checkpoint = path.join(dir, 'tiny.gabn');
  await saveCheckpoint(checkpoint, {
    model: createIResNet(iresnetSpec({ depth: 18, width: 0.125, inputSize: 32, embeddingSize: 16 }), 1),
    groups,
    classCount: 6,
    provenance: { data: {}, config: {}, metrics: {} },
    head: createMarginHead(16, 6, 2),
  });
  return checkpoint;
}
