/**
 * The first start: a service told to prepare the demo makes what the workspace lacks in a job, then
 * registers the new checkpoints and tells every client ('workspace-changed').
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ApiEvents } from '../../../main/api/contract.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../../../main/data/synth/generate.ts';
import {
  demoCheckpoints,
  demoLayout,
  missingDemoParts,
  SHIPPED_DEMO_CHECKPOINTS,
} from '../../../main/usecases/workspace/demo-workspace.ts';

const shipped = existsSync(SHIPPED_DEMO_CHECKPOINTS)
  ? readdirSync(SHIPPED_DEMO_CHECKPOINTS).filter((n) => n.endsWith('.gabn'))
  : [];
let service: GabnService | undefined;

afterAll(async () => {
  await service?.close();
});

describe('the demo workspace', () => {
  it('lists what an empty workspace lacks', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'gabn-demo-empty-'));
    const checkpoints =
      shipped.length > 0 ? `demo checkpoints (${shipped.sort().join(', ')})` : 'the face-api network';
    expect(missingDemoParts(empty)).toEqual(['synthetic faces', checkpoints]);
  });

  it('is prepared by a job on first start, and the new checkpoints reach the clients', async () => {
    const workspace = mkdtempSync(path.join(os.tmpdir(), 'gabn-demo-'));
    // The faces already there (small ones, to keep the test short): only the checkpoints are made.
    await generateSyntheticDataset(
      demoLayout(workspace).data,
      { ...DEFAULT_SYNTH, seed: 3, ids: 20, images: 2, trainIds: 0, size: 64 },
      { force: true },
    );
    expect(missingDemoParts(workspace)).toHaveLength(1);
    service = createService({ workspace, host: 'browser', embeddingCacheDir: null, prepareDemo: true });
    const changed = new Promise<ApiEvents['workspace-changed']>((resolve) => {
      service!.on('workspace-changed', resolve);
    });
    const status = await service.getStatus();
    const job = status.jobs.find((j) => j.kind === 'demo-workspace');
    expect(job?.state).toMatch(/queued|running/);
    // Asking again while it runs gives the same job, not a second one.
    expect((await service.call('prepareDemoWorkspace', undefined)).id).toBe(job!.id);

    expect(await changed).toEqual({
      checkpoints: demoCheckpoints(demoLayout(workspace)).length,
      datasets: 0,
    });
    expect((await service.runner.wait(job!.id)).state).toBe('succeeded');
    const names = (await service.listCheckpoints()).map((c) => c.name);
    expect(names).toEqual(demoCheckpoints(demoLayout(workspace)).map((p) => path.basename(p)));
    expect((await service.getStatus()).demoMissing).toEqual([]);
    expect(missingDemoParts(workspace)).toEqual([]);
  });
});
