/** The status bar's data: the backend and why, and every job with its progress, kept live by events. */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { JobInfo, Status } from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';

const LOG_LINES = 200;

export const useStatusStore = defineStore('status', () => {
  const status = ref<Status>();
  const jobs = ref<JobInfo[]>([]);
  const logs = ref<Record<string, string[]>>({});
  const error = ref<string>();
  let unsubscribe: (() => void)[] = [];
  let refreshing = false;

  function upsert(job: JobInfo): void {
    const i = jobs.value.findIndex((j) => j.id === job.id);
    if (i === -1) jobs.value = [job, ...jobs.value];
    else jobs.value.splice(i, 1, job);
  }

  async function refresh(): Promise<void> {
    try {
      const s = await apiClient().call('getStatus', undefined);
      status.value = s;
      jobs.value = s.jobs;
      error.value = undefined;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  function subscribe(): void {
    if (unsubscribe.length > 0) return;
    const client = apiClient();
    unsubscribe = [
      client.on('job-progress', ({ id, progress }) => {
        const job = jobs.value.find((j) => j.id === id);
        if (job) upsert({ ...job, state: 'running', progress });
        // A job another client or the host started: fetch the list once to learn it.
        else if (!refreshing) {
          refreshing = true;
          void refresh().finally(() => {
            refreshing = false;
          });
        }
      }),
      client.on('job-log', ({ id, line }) => {
        const lines = [...(logs.value[id] ?? []), line].slice(-LOG_LINES);
        logs.value = { ...logs.value, [id]: lines };
      }),
      client.on('job-finished', (job) => upsert(job)),
    ];
  }

  function stop(): void {
    for (const off of unsubscribe) off();
    unsubscribe = [];
  }

  async function cancel(id: string): Promise<void> {
    upsert(await apiClient().call('cancelJob', id));
  }

  /** A training run stops after its current step, with a resume point. */
  async function stopJob(id: string): Promise<void> {
    upsert(await apiClient().call('stopJob', id));
  }

  const active = computed(() => jobs.value.filter((j) => j.state === 'running' || j.state === 'queued'));
  /** The latest demo-workspace job (jobs are listed newest first). */
  const demoJob = computed(() => jobs.value.find((j) => j.kind === 'demo-workspace'));

  async function prepareDemo(): Promise<void> {
    try {
      upsert(await apiClient().call('prepareDemoWorkspace', undefined));
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  return {
    status,
    jobs,
    logs,
    error,
    active,
    demoJob,
    refresh,
    subscribe,
    stop,
    upsert,
    cancel,
    stopJob,
    prepareDemo,
  };
});
