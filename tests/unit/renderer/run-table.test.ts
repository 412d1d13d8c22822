// @vitest-environment happy-dom
/**
 * The Runs view's table: where a queue's workers run the jobs it says which worker runs, or ran,
 * each run; where this machine runs them (no worker known) it has no such column.
 */
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { JobInfo, RunSummary } from '../../../main/api/contract.ts';
import RunTable from '../../../renderer/src/components/RunTable.vue';

beforeEach(() => {
  setActivePinia(createPinia());
});

function run(id: string, more: Partial<JobInfo> = {}): RunSummary {
  return {
    job: {
      id,
      kind: 'train',
      state: 'running',
      params: { preset: 'gabn' },
      createdAt: '2026-12-01T10:00:00.000Z',
      runDir: `/w/runs/${id}`,
      ...more,
    },
    epochRecords: [],
    checkpoints: [],
  };
}

describe('RunTable', () => {
  it('names the worker of each run when a queue runs them', () => {
    const wrapper = mount(RunTable, {
      props: {
        runs: [
          run('r1', { worker: 'gpu-box/4121' }),
          run('r2', { worker: 'lab-2/77' }),
          run('r3', { state: 'queued' }),
        ],
        compared: [],
      },
    });
    expect(wrapper.findAll('th').map((th) => th.text())).toContain('Worker');
    expect(wrapper.findAll('[data-testid="run-worker"]').map((td) => td.text())).toEqual([
      'gpu-box/4121',
      'lab-2/77',
      '—',
    ]);
  });

  it('has no worker column when this machine runs the jobs', () => {
    const wrapper = mount(RunTable, { props: { runs: [run('r1'), run('r2')], compared: [] } });
    expect(wrapper.findAll('th').map((th) => th.text())).not.toContain('Worker');
    expect(wrapper.findAll('[data-testid="run-worker"]')).toHaveLength(0);
  });
});
