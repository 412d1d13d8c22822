/** Checkpoints: the opened ones, the one in use (Browse computes its maps with it), and its details. */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { CheckpointDetail, CheckpointSummary } from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';

export const useCheckpointsStore = defineStore('checkpoints', () => {
  const list = ref<CheckpointSummary[]>([]);
  const selectedId = ref<string>();
  const detail = ref<CheckpointDetail>();
  const busy = ref(false);
  const error = ref<string>();

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

  return { list, selectedId, selected, detail, busy, error, refresh, select, open };
});
