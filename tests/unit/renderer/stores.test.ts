// @vitest-environment happy-dom
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type {
  CheckpointDetail,
  DatasetSummary,
  ImageEntry,
  JobInfo,
  Status,
} from '../../../main/api/contract.ts';
import { setApiClient } from '../../../renderer/src/api/index.ts';
import { useBrowseStore } from '../../../renderer/src/stores/browse.ts';
import { useCheckpointsStore } from '../../../renderer/src/stores/checkpoints.ts';
import { useImageDetailStore } from '../../../renderer/src/stores/image-detail.ts';
import { useStatusStore } from '../../../renderer/src/stores/status.ts';
import { encodeMap, fakeClient } from './fake-client.ts';

const job: JobInfo = {
  id: 'j1',
  kind: 'group-averages',
  state: 'running',
  params: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  runDir: '/w/runs/j1',
};
const status: Status = {
  version: '0.1.0',
  backend: 'wasm',
  why: 'first rung',
  workspace: '/w',
  host: 'browser',
  demoMissing: [],
  jobs: [job],
};

const dataset: DatasetSummary = {
  id: 'd1',
  path: '/data/rfw',
  format: 'rfw',
  groups: [
    { name: 'group-a', images: 2, identities: 1, pairs: 1 },
    { name: 'group-b', images: 1, identities: 1, pairs: 0 },
  ],
  images: 3,
  pairs: 1,
  problems: 0,
};
const images: ImageEntry[] = [
  { id: 0, relative: 'a/x_1.jpg', identity: 'Xavier', group: 'group-a' },
  { id: 1, relative: 'a/x_2.jpg', identity: 'Xavier', group: 'group-a' },
  { id: 2, relative: 'b/y_1.jpg', identity: 'Yann', group: 'group-b' },
];

beforeEach(() => {
  setActivePinia(createPinia());
});

describe('status store', () => {
  it('shows the backend and follows jobs through their events', async () => {
    const client = fakeClient({ getStatus: () => status });
    setApiClient(client);
    const store = useStatusStore();
    store.subscribe();
    await store.refresh();
    expect(store.status?.backend).toBe('wasm');
    expect(store.active.map((j) => j.id)).toEqual(['j1']);
    client.emit('job-progress', { id: 'j1', progress: { done: 3, total: 8 } });
    expect(store.jobs[0]!.progress).toEqual({ done: 3, total: 8 });
    client.emit('job-log', { id: 'j1', line: 'group-a: 4 images' });
    expect(store.logs.j1).toEqual(['group-a: 4 images']);
    client.emit('job-finished', { ...job, state: 'succeeded' });
    expect(store.jobs[0]!.state).toBe('succeeded');
    expect(store.active).toEqual([]);
    store.stop();
    client.emit('job-progress', { id: 'j1', progress: { done: 8, total: 8 } });
    expect(store.jobs[0]!.progress).toBeUndefined();
  });

  it('keeps the error of an unreachable host', async () => {
    setApiClient(
      fakeClient({
        getStatus: () => {
          throw new Error('HTTP 401');
        },
      }),
    );
    const store = useStatusStore();
    await store.refresh();
    expect(store.error).toBe('HTTP 401');
  });
});

describe('checkpoints store', () => {
  it('opens a checkpoint, lists it once and selects it', async () => {
    const summary = {
      id: 'c1',
      path: '/m/tiny.gabn',
      name: 'tiny.gabn',
      family: 'iresnet',
      architecture: 'iresnet18-w0.125-32-e16',
      inputSize: 32,
      embeddingSize: 16,
      parameterCount: 180_720,
      groups: [],
      classCount: 6,
      hasHead: true,
      trainable: true,
    };
    const detail: CheckpointDetail = {
      ...summary,
      formatVersion: 1,
      provenance: {},
      architectureJson: {},
      files: [],
      methods: ['gam'],
    };
    const client = fakeClient({
      listCheckpoints: () => [],
      openCheckpoint: (p) => {
        if (p !== '/m/tiny.gabn') throw new Error(`${p}: no such checkpoint`);
        return summary;
      },
      describeCheckpoint: () => detail,
    });
    setApiClient(client);
    const store = useCheckpointsStore();
    await store.refresh();
    expect(await store.open('/m/tiny.gabn')).toBe(true);
    expect(await store.open('/m/tiny.gabn')).toBe(true);
    expect(store.list).toHaveLength(1);
    expect(store.selected?.id).toBe('c1');
    expect(store.detail?.architecture).toBe('iresnet18-w0.125-32-e16');
    expect(await store.open('/nope')).toBe(false);
    expect(store.error).toBe('/nope: no such checkpoint');
  });
});

describe('browse store', () => {
  it('opens the first dataset on its first group and filters by identity', async () => {
    const client = fakeClient({
      listDatasets: () => [dataset],
      listImages: (q) => {
        const matching = images.filter(
          (i) =>
            (!q.group || i.group === q.group) &&
            (!q.identity || i.identity.toLowerCase().includes(q.identity.toLowerCase())),
        );
        return { total: matching.length, offset: 0, images: matching };
      },
    });
    setApiClient(client);
    const store = useBrowseStore();
    await store.refresh();
    expect(store.datasetId).toBe('d1');
    expect(store.group).toBe('group-a');
    expect(store.images.map((i) => i.id)).toEqual([0, 1]);
    await store.selectGroup('group-b');
    expect(store.images.map((i) => i.id)).toEqual([2]);
    await store.selectGroup(undefined);
    await store.setIdentity('  xav ');
    expect(client.callsOf('listImages').at(-1)).toEqual({
      datasetId: 'd1',
      identity: 'xav',
      offset: 0,
      limit: 100_000,
    });
    expect(store.images.map((i) => i.id)).toEqual([0, 1]);
    store.selectImage(1);
    expect(store.selectedImage?.relative).toBe('a/x_2.jpg');
  });

  it('drops the answer to an older request when a newer one has been made', async () => {
    const pending: ((ids: number[]) => void)[] = [];
    const client = fakeClient({
      listDatasets: () => [dataset],
      listImages: () =>
        new Promise((resolve) => {
          pending.push((ids) =>
            resolve({ total: ids.length, offset: 0, images: images.filter((i) => ids.includes(i.id)) }),
          );
        }),
    });
    setApiClient(client);
    const store = useBrowseStore();
    store.datasets = [dataset];
    store.datasetId = 'd1';
    const older = store.setIdentity('x');
    const newer = store.setIdentity('y');
    pending[1]!([2]);
    await newer;
    pending[0]!([0, 1]);
    await older;
    expect(store.images.map((i) => i.id)).toEqual([2]);
  });
});

describe('image detail store', () => {
  function detailClient() {
    return fakeClient({
      computeAttribution: (r) => ({
        method: r.method,
        width: 2,
        height: 2,
        values: encodeMap([0, 0.5, 1, 0.25]),
        rawMax: 3,
        massFraction: 0.25,
        entropy: 0.8,
      }),
      computeMasks: (r) => ({
        kind: r.kind,
        width: 2,
        height: 2,
        rects: [{ top: r.seed % 2, left: 0, height: 1, width: 1 }],
      }),
      listPairs: () => ({ pairs: [], groupAccuracy: 0.9 }),
    });
  }

  it('asks for the GAM with a head and the pair GAM without, and decodes the map', async () => {
    const client = detailClient();
    setApiClient(client);
    const store = useImageDetailStore();
    await store.show({ checkpointId: 'c1', datasetId: 'd1', imageId: 4, hasHead: true, inputSize: 112 });
    expect(client.callsOf('computeAttribution')).toEqual([
      { checkpointId: 'c1', datasetId: 'd1', imageId: 4, method: 'gam' },
    ]);
    expect(Array.from(store.map!.values)).toEqual([0, 0.5, 1, 0.25]);
    expect(store.groupAccuracy).toBe(0.9);
    // Masks are asked for only when shown; their default size is the paper configuration's 16 px at 112.
    expect(client.callsOf('computeMasks')).toEqual([]);
    expect(store.maskHeight).toBe(16);
    await store.show({ checkpointId: 'c2', datasetId: 'd1', imageId: 4, hasHead: false, inputSize: 150 });
    expect((client.callsOf('computeAttribution').at(-1) as { method: string }).method).toBe('pair-gam');
    expect(store.maskHeight).toBe(21);
  });

  it('switches to Grad-CAM, shows masks and reseeds them', async () => {
    const client = detailClient();
    setApiClient(client);
    const store = useImageDetailStore();
    await store.show({ checkpointId: 'c1', datasetId: 'd1', imageId: 4, hasHead: true, inputSize: 32 });
    await store.setGradCam(true);
    expect((client.callsOf('computeAttribution').at(-1) as { method: string }).method).toBe('grad-cam');
    await store.setMasks(true);
    expect(client.callsOf('computeMasks').at(-1)).toEqual({
      checkpointId: 'c1',
      datasetId: 'd1',
      imageId: 4,
      kind: 'sfre',
      n: 3,
      h: 5,
      w: 5,
      seed: 1,
      centres: 'raw',
      method: 'grad-cam',
    });
    expect(store.rects).toEqual([{ top: 1, left: 0, height: 1, width: 1 }]);
    await store.reseed();
    expect((client.callsOf('computeMasks').at(-1) as { seed: number }).seed).toBe(2);
    expect(store.rects).toEqual([{ top: 0, left: 0, height: 1, width: 1 }]);
    await store.setMaskOptions({ kind: 'random', n: 5 });
    expect(client.callsOf('computeMasks').at(-1)).toMatchObject({ kind: 'random', n: 5 });
    await store.setMasks(false);
    expect(store.rects).toEqual([]);
  });
});
