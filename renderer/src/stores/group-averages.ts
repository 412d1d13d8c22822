/**
 * The average face and average attention map of every group with the attention statistics: a job
 * over the dataset (status bar shows its progress); the result is read when the job finishes.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { GroupAveragesResult, JobInfo } from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';
import { useStatusStore } from './status.ts';

export const useGroupAveragesStore = defineStore('groupAverages', () => {
  const jobId = ref<string>();
  const limit = ref(32);
  const error = ref<string>();
  const status = useStatusStore();

  const job = computed<JobInfo | undefined>(() => status.jobs.find((j) => j.id === jobId.value));
  const result = computed(() =>
    job.value?.state === 'succeeded' ? (job.value.result as GroupAveragesResult | undefined) : undefined,
  );
  const running = computed(() => job.value?.state === 'running' || job.value?.state === 'queued');

  async function start(datasetId: string, checkpointId: string): Promise<void> {
    error.value = undefined;
    try {
      const started = await apiClient().call('groupAverages', {
        datasetId,
        checkpointId,
        limit: limit.value,
      });
      status.upsert(started);
      jobId.value = started.id;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  /** Shows the newest finished group-averages job of this dataset and checkpoint, if there is one. */
  function adoptLatest(datasetPath: string, checkpointPath: string): void {
    const latest = status.jobs.find(
      (j) =>
        j.kind === 'group-averages' &&
        j.params.datasetPath === datasetPath &&
        j.params.checkpointPath === checkpointPath &&
        j.state !== 'failed' &&
        j.state !== 'cancelled' &&
        j.state !== 'interrupted',
    );
    jobId.value = latest?.id;
  }

  return { jobId, limit, error, job, result, running, start, adoptLatest };
});
