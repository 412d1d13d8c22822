/**
 * The Runs view: every training run of the workspace (the app's and `gabn train`'s), the ones ticked
 * for comparison, and what a person does with a run: stop, resume, cancel, delete, export its
 * checkpoint, open it in another view. Own jobs stay current through their events; runs of other
 * processes are read again every few seconds while any of them is active.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { JobInfo, RunSummary } from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';
import { useCheckpointsStore } from './checkpoints.ts';
import { useNavigationStore } from './navigation.ts';
import { useStatusStore } from './status.ts';

const POLL_MS = 3000;

export const useRunsStore = defineStore('runs', () => {
  const summaries = ref<RunSummary[]>([]);
  /** Runs ticked for comparison, in the order they were ticked. */
  const compared = ref<string[]>([]);
  const focusedId = ref<string>();
  const error = ref<string>();
  const notice = ref<string>();
  const status = useStatusStore();
  let unsubscribe: (() => void)[] = [];
  let poll: ReturnType<typeof setInterval> | undefined;
  let refreshing: Promise<void> | undefined;

  /** A run's job as the latest event says it, else as last listed. */
  function jobOf(summary: RunSummary): JobInfo {
    return status.jobs.find((j) => j.id === summary.job.id) ?? summary.job;
  }

  const runs = computed(() => summaries.value.map((s) => ({ ...s, job: jobOf(s) })));
  const focused = computed(() => runs.value.find((r) => r.job.id === focusedId.value));
  const ablations = computed(() => status.jobs.filter((j) => j.kind === 'ablation'));

  async function refresh(): Promise<void> {
    refreshing ??= (async () => {
      try {
        summaries.value = await apiClient().call('listRuns', undefined);
        compared.value = compared.value.filter((id) => summaries.value.some((s) => s.job.id === id));
        error.value = undefined;
      } catch (e) {
        error.value = (e as Error).message;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  function subscribe(): void {
    if (unsubscribe.length > 0) return;
    const client = apiClient();
    unsubscribe = [
      client.on('job-finished', (job) => {
        if (job.kind === 'train' || job.kind === 'ablation') void refresh();
        if (job.kind === 'export-checkpoint' && job.state === 'succeeded')
          notice.value = `exported ${(job.result as { path: string }).path}`;
        if (job.kind === 'export-checkpoint' && job.state === 'failed') error.value = job.error;
      }),
      // A new epoch: its validation and checkpoint join the run's line.
      client.on('job-metrics', ({ record }) => {
        if (record.type === 'epoch') void refresh();
      }),
    ];
    poll = setInterval(() => {
      if (runs.value.some((r) => r.job.external)) void refresh();
    }, POLL_MS);
  }

  function stop(): void {
    for (const off of unsubscribe) off();
    unsubscribe = [];
    if (poll) clearInterval(poll);
  }

  async function act(call: () => Promise<JobInfo | undefined>): Promise<void> {
    try {
      const job = await call();
      if (job) status.upsert(job);
      error.value = undefined;
      await Promise.all([refresh(), status.refresh()]);
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  function toggleCompared(id: string): void {
    compared.value = compared.value.includes(id)
      ? compared.value.filter((c) => c !== id)
      : [...compared.value, id];
  }

  /**
   * Opens a checkpoint of a run in Checkpoints, Browse or Audit: it is opened (and selected, so
   * Browse computes its maps with it), then the view is shown with the request it can read.
   */
  async function openIn(view: string, run: RunSummary, checkpoint: string): Promise<void> {
    const path = `${run.job.runDir}/${checkpoint}`;
    const checkpoints = useCheckpointsStore();
    if (await checkpoints.open(path))
      useNavigationStore().openCheckpointIn(view, path, checkpoints.selectedId);
    else error.value = checkpoints.error;
  }

  return {
    summaries,
    runs,
    compared,
    focusedId,
    focused,
    ablations,
    error,
    notice,
    refresh,
    subscribe,
    stop,
    toggleCompared,
    focus: (id: string | undefined) => {
      focusedId.value = id;
    },
    stopRun: (id: string) => act(() => apiClient().call('stopJob', id)),
    resume: (id: string) => act(() => apiClient().call('resumeJob', id)),
    cancel: (id: string) => act(() => apiClient().call('cancelJob', id)),
    remove: (id: string) =>
      act(async () => {
        await apiClient().call('deleteRun', id);
        compared.value = compared.value.filter((c) => c !== id);
        if (focusedId.value === id) focusedId.value = undefined;
        return undefined;
      }),
    exportCheckpoint: (id: string, checkpoint?: string) =>
      act(() =>
        apiClient().call('exportRunCheckpoint', { jobId: id, ...(checkpoint ? { checkpoint } : {}) }),
      ),
    openIn,
  };
});
