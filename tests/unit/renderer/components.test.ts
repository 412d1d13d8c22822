// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ImageEntry, JobInfo, PairEntry, Status } from '../../../main/api/contract.ts';
import { setApiClient } from '../../../renderer/src/api/index.ts';
import DemoWorkspacePanel from '../../../renderer/src/components/DemoWorkspacePanel.vue';
import PairList from '../../../renderer/src/components/PairList.vue';
import StatusBar from '../../../renderer/src/components/StatusBar.vue';
import { useStatusStore } from '../../../renderer/src/stores/status.ts';
import { fakeClient } from './fake-client.ts';

beforeEach(() => {
  setActivePinia(createPinia());
});

const partner = (id: number): ImageEntry => ({
  id,
  relative: `p/${id}.jpg`,
  identity: `person${id}`,
  group: 'group-b',
});

describe('StatusBar', () => {
  it('shows the backend with its reason and each running job with its progress', async () => {
    const client = fakeClient({
      getStatus: () => ({
        version: '0.1.0',
        backend: 'wasm',
        why: 'first rung that loaded',
        gpu: { adapter: null, state: 'no Vulkan driver is installed' },
        workspace: '/w',
        host: 'browser',
        demoMissing: [],
        jobs: [
          {
            id: 'j1',
            kind: 'group-averages',
            state: 'running',
            params: {},
            createdAt: 'x',
            runDir: '/r',
            progress: { done: 3, total: 8 },
          },
          { id: 'j0', kind: 'synth', state: 'succeeded', params: {}, createdAt: 'w', runDir: '/r0' },
        ],
      }),
      cancelJob: (id) => ({
        id,
        kind: 'group-averages',
        state: 'running',
        params: {},
        createdAt: 'x',
        runDir: '/r',
      }),
    });
    setApiClient(client);
    await useStatusStore().refresh();
    const wrapper = mount(StatusBar);
    expect(wrapper.text()).toContain('backend wasm (first rung that loaded)');
    expect(wrapper.get('[data-testid="gpu"]').text()).toBe('GPU none (no Vulkan driver is installed)');
    const jobs = wrapper.findAll('[data-testid="job"]');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.text()).toContain('group-averages');
    expect(jobs[0]!.text()).toContain('37%');
    await jobs[0]!.find('button').trigger('click');
    expect(client.callsOf('cancelJob')).toEqual(['j1']);
  });
});

describe('PairList', () => {
  it('shows genuine and impostor pairs with distance, threshold and a verdict mark', async () => {
    const pairs: PairEntry[] = [
      {
        partner: partner(7),
        same: true,
        fold: 0,
        distance: 0.0283,
        threshold: 0.03,
        predictedSame: true,
        correct: true,
      },
      {
        partner: partner(9),
        same: false,
        fold: 4,
        distance: 0.0214,
        threshold: 0.03,
        predictedSame: true,
        correct: false,
      },
    ];
    const wrapper = mount(PairList, {
      props: { pairs, thumbnail: (i: ImageEntry) => `t/${i.id}`, groupAccuracy: 0.865 },
    });
    const rows = wrapper.findAll('tbody tr');
    expect(rows[0]!.text()).toContain('genuine');
    expect(rows[0]!.text()).toContain('0.028');
    expect(rows[0]!.text()).toContain('match ✓');
    expect(rows[1]!.text()).toContain('impostor');
    expect(rows[1]!.text()).toContain('5');
    expect(rows[1]!.text()).toContain('match ✗');
    expect(rows[1]!.classes()).toContain('wrong');
    expect(wrapper.text()).toContain('86.50%');
    await rows[1]!.find('button').trigger('click');
    expect(wrapper.emitted('select')).toEqual([[9]]);
  });

  it('says when an image is in no pair', () => {
    const wrapper = mount(PairList, { props: { pairs: [], thumbnail: () => '' } });
    expect(wrapper.text()).toContain('This image is in no verification pair.');
  });
});

describe('DemoWorkspacePanel', () => {
  const base: Status = {
    version: '0.1.0',
    backend: 'wasm',
    why: 'w',
    workspace: '/w',
    host: 'browser',
    demoMissing: ['synthetic faces', 'the face-api network'],
    jobs: [],
  };
  const demoJob = (state: JobInfo['state'], extra: Partial<JobInfo> = {}): JobInfo => ({
    id: 'd1',
    kind: 'demo-workspace',
    state,
    params: {},
    createdAt: 'x',
    runDir: '/w/runs/d1',
    ...extra,
  });

  it('shows what is missing and prepares the demo on request', async () => {
    const client = fakeClient({
      getStatus: () => base,
      prepareDemoWorkspace: () =>
        demoJob('running', { progress: { done: 116, total: 232, message: 'rendering faces' } }),
    });
    setApiClient(client);
    await useStatusStore().refresh();
    const wrapper = mount(DemoWorkspacePanel);
    expect(wrapper.text()).toContain('synthetic faces, the face-api network missing');
    await wrapper.find('[data-testid="prepare-demo"]').trigger('click');
    await flushPromises();
    expect(client.callsOf('prepareDemoWorkspace')).toHaveLength(1);
    expect(wrapper.text()).toContain('Preparing the demo workspace');
    expect(wrapper.text()).toContain('rendering faces');
    expect(wrapper.text()).toContain('50%');
    expect(wrapper.find('progress').attributes('value')).toBe('116');
  });

  it('says why the last attempt stopped, and disappears once the demo is ready', async () => {
    let status: Status = { ...base, jobs: [demoJob('failed', { error: 'no space left on device' })] };
    setApiClient(fakeClient({ getStatus: () => status }));
    const store = useStatusStore();
    await store.refresh();
    const wrapper = mount(DemoWorkspacePanel);
    expect(wrapper.text()).toContain('The last attempt stopped: no space left on device');
    status = { ...base, demoMissing: [], jobs: [demoJob('succeeded')] };
    await store.refresh();
    await flushPromises();
    expect(wrapper.find('[data-testid="demo-workspace"]').exists()).toBe(false);
  });
});
