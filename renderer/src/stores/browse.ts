/**
 * Browse: the opened datasets, the one shown, its group and identity filter, the matching images
 * (the whole filtered list: the grid renders only the visible rows), and the selected image, with the
 * partner of a pair another view sent the person to (Audit's worst false matches).
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { DatasetSummary, ImageEntry } from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';

/** Enough for any RFW group (about 10 000 images) in one call. */
const PAGE = 100_000;

export const useBrowseStore = defineStore('browse', () => {
  const datasets = ref<DatasetSummary[]>([]);
  const datasetId = ref<string>();
  const group = ref<string>();
  const identity = ref('');
  const images = ref<ImageEntry[]>([]);
  const total = ref(0);
  const selectedImageId = ref<number>();
  /** The other image of a pair shown from elsewhere: the selected image's pair GAM is against it. */
  const partnerId = ref<number>();
  const loading = ref(false);
  const error = ref<string>();
  let request = 0;

  const dataset = computed(() => datasets.value.find((d) => d.id === datasetId.value));
  const selectedImage = computed(() => images.value.find((i) => i.id === selectedImageId.value));

  async function refresh(): Promise<void> {
    try {
      datasets.value = await apiClient().call('listDatasets', undefined);
      if (datasetId.value === undefined && datasets.value.length > 0)
        await selectDataset(datasets.value[0]!.id);
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function openDataset(path: string): Promise<boolean> {
    error.value = undefined;
    try {
      const opened = await apiClient().call('openDataset', path);
      if (!datasets.value.some((d) => d.id === opened.id)) datasets.value = [...datasets.value, opened];
      await selectDataset(opened.id);
      return true;
    } catch (e) {
      error.value = (e as Error).message;
      return false;
    }
  }

  async function selectDataset(id: string): Promise<void> {
    datasetId.value = id;
    group.value = dataset.value?.groups[0]?.name;
    selectedImageId.value = undefined;
    await loadImages();
  }

  async function selectGroup(name: string | undefined): Promise<void> {
    group.value = name;
    selectedImageId.value = undefined;
    await loadImages();
  }

  async function setIdentity(text: string): Promise<void> {
    identity.value = text;
    await loadImages();
  }

  /** Loads the filtered list; an answer to an older request (the user typed on) is dropped. */
  async function loadImages(): Promise<void> {
    if (datasetId.value === undefined) return;
    const mine = ++request;
    loading.value = true;
    try {
      const page = await apiClient().call('listImages', {
        datasetId: datasetId.value,
        ...(group.value ? { group: group.value } : {}),
        ...(identity.value.trim() ? { identity: identity.value.trim() } : {}),
        offset: 0,
        limit: PAGE,
      });
      if (mine !== request) return;
      images.value = page.images;
      total.value = page.total;
      error.value = undefined;
    } catch (e) {
      if (mine === request) error.value = (e as Error).message;
    } finally {
      if (mine === request) loading.value = false;
    }
  }

  function selectImage(id: number | undefined): void {
    selectedImageId.value = id;
    partnerId.value = undefined;
  }

  /** Shows image `imageId` of a dataset with `partner` as the other image of its pair. */
  async function showPair(id: string, imageId: number, partner: number, groupName: string): Promise<void> {
    if (!datasets.value.some((d) => d.id === id))
      datasets.value = await apiClient().call('listDatasets', undefined);
    datasetId.value = id;
    group.value = groupName;
    identity.value = '';
    await loadImages();
    selectedImageId.value = imageId;
    partnerId.value = partner;
  }

  return {
    datasets,
    datasetId,
    dataset,
    group,
    identity,
    images,
    total,
    selectedImageId,
    selectedImage,
    partnerId,
    loading,
    error,
    refresh,
    openDataset,
    selectDataset,
    selectGroup,
    setIdentity,
    loadImages,
    selectImage,
    showPair,
  };
});
