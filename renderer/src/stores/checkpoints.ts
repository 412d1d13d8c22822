/**
 * Checkpoints: the opened ones, the one in use (Browse computes its maps with it), and its details;
 * a model file (.onnx, .pth, .safetensors, model.json) is imported into the workspace by a job first.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type {
  CheckpointDetail,
  CheckpointSummary,
  ImportModelResult,
  JobInfo,
} from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';

export const useCheckpointsStore = defineStore('checkpoints', () => {
  const list = ref<CheckpointSummary[]>([]);
  const selectedId = ref<string>();
  const detail = ref<CheckpointDetail>();
  const busy = ref(false);
  const error = ref<string>();
  /** The import job of the model file being opened, with its progress. */
  const importJob = ref<JobInfo>();

  const selected = computed(() => list.value.find((c) => c.id === selectedId.value));

  async function refresh(): Promise<void> {
    try {
      list.value = await apiClient().call('listCheckpoints', undefined);
      if (selectedId.value === undefined && list.value.length > 0) await select(list.value[0]!.id);
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function select(id: string): Promise<void> {
    selectedId.value = id;
    try {
      detail.value = await apiClient().call('describeCheckpoint', id);
      error.value = undefined;
    } catch (e) {
      detail.value = undefined;
      error.value = (e as Error).message;
    }
  }

  async function open(path: string): Promise<boolean> {
    busy.value = true;
    error.value = undefined;
    try {
      const opened = await apiClient().call('openCheckpoint', path);
      if (!list.value.some((c) => c.id === opened.id)) list.value = [...list.value, opened];
      await select(opened.id);
      return true;
    } catch (e) {
      error.value = (e as Error).message;
      return false;
    } finally {
      busy.value = false;
    }
  }

  /** Imports a model file in a job, then opens the checkpoint it became. */
  async function importFile(path: string): Promise<boolean> {
    error.value = undefined;
    const client = apiClient();
    let job: JobInfo;
    try {
      job = await client.call('importModel', { path });
    } catch (e) {
      error.value = (e as Error).message;
      return false;
    }
    importJob.value = job;
    const finished = new Promise<JobInfo>((resolve) => {
      const offProgress = client.on('job-progress', ({ id, progress }) => {
        if (id === job.id && importJob.value)
          importJob.value = { ...importJob.value, state: 'running', progress };
      });
      const offFinished = client.on('job-finished', (done) => {
        if (done.id !== job.id) return;
        offProgress();
        offFinished();
        resolve(done);
      });
    });
    const done = await finished;
    importJob.value = done;
    if (done.state !== 'succeeded') {
      // The job's error ends with the tail of its log, which repeats the message: the message is enough here.
      error.value = `The import ${done.state}: ${(done.error ?? '').split('\n--- last lines')[0]}`.trim();
      return false;
    }
    const opened = await open((done.result as ImportModelResult).out);
    if (opened) importJob.value = undefined;
    return opened;
  }

  async function cancelImport(): Promise<void> {
    if (importJob.value) await apiClient().call('cancelJob', importJob.value.id);
  }

  return {
    list,
    selectedId,
    selected,
    detail,
    busy,
    error,
    importJob,
    refresh,
    select,
    open,
    importFile,
    cancelImport,
  };
});
