// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ImageEntry, PairEntry } from '../../../main/api/contract.ts';
import { setApiClient } from '../../../renderer/src/api/index.ts';
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
        workspace: '/w',
        host: 'browser',
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
