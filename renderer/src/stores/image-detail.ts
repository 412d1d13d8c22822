/**
 * One image under the selected checkpoint: its attention map (GAM, or Grad-CAM for comparison), its
 * erasure masks (GAM-SFRE or random erase, N, h, w, seed), and its verification pairs with scores
 * and verdicts. Display settings (opacity, colormap) live here too so they persist across images.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type {
  AttributionMap,
  AttributionMethod,
  MaskKind,
  MaskRect,
  PairEntry,
} from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';
import { type Colormap, decodeMap } from '../drawing/colormap.ts';

export interface DecodedMap {
  readonly method: AttributionMethod;
  readonly width: number;
  readonly height: number;
  readonly values: Float32Array;
  /** null for an all-zero map. */
  readonly massFraction: number | null;
  readonly entropy: number | null;
  /** The share of the mass on the network's stride lattice, where the stride is known. */
  readonly lattice?: AttributionMap['lattice'];
  readonly partnerId?: number;
}

export interface Target {
  readonly checkpointId: string;
  readonly datasetId: string;
  readonly imageId: number;
  /** The checkpoint has an identity head (the GAM proper); else the pair GAM is its attention map. */
  readonly hasHead: boolean;
  readonly inputSize: number;
  /** A pair's other image (a pair from the audit): the map is then the pair GAM against it. */
  readonly partnerId?: number;
}

export const useImageDetailStore = defineStore('imageDetail', () => {
  const target = ref<Target>();
  const showGam = ref(true);
  const gradCam = ref(false);
  // The CLI's overlays (gabn gam) use 0.7 too.
  const opacity = ref(0.7);
  const colormap = ref<Colormap>('inferno');
  /** The quantile of the map at which colours saturate (1: the map's maximum). */
  const saturation = ref(0.99);
  const showMasks = ref(false);
  const maskKind = ref<MaskKind>('sfre');
  /** GAM-SFRE's centres: the paper's raw ranking, or the ranking of the smoothed map. */
  const maskCentres = ref<'raw' | 'smoothed'>('raw');
  const maskCount = ref(3);
  const maskHeight = ref(16);
  const maskWidth = ref(16);
  const seed = ref(1);
  const map = ref<DecodedMap>();
  const rects = ref<MaskRect[]>([]);
  const pairs = ref<PairEntry[]>([]);
  const groupAccuracy = ref<number>();
  const loadingMap = ref(false);
  const loadingPairs = ref(false);
  const error = ref<string>();
  let generation = 0;

  /** The attention method shown: Grad-CAM when toggled, else the GAM (pair GAM without a head or for a pair). */
  const method = computed<AttributionMethod>(() =>
    gradCam.value
      ? 'grad-cam'
      : target.value?.hasHead === false || target.value?.partnerId !== undefined
        ? 'pair-gam'
        : 'gam',
  );
  const partner = () => (target.value?.partnerId === undefined ? {} : { partnerId: target.value.partnerId });

  async function show(next: Target): Promise<void> {
    const changedModel = target.value?.inputSize !== next.inputSize;
    target.value = next;
    map.value = undefined;
    rects.value = [];
    pairs.value = [];
    groupAccuracy.value = undefined;
    if (changedModel) {
      // Masks scale with the input: 16 px at 112 (the paper configuration's h_mask, w_mask).
      const side = Math.max(1, Math.round((16 * next.inputSize) / 112));
      maskHeight.value = side;
      maskWidth.value = side;
    }
    await Promise.all([loadMap(), loadMasks(), loadPairs()]);
  }

  async function loadMap(): Promise<void> {
    const t = target.value;
    if (!t || !showGam.value) return;
    const mine = ++generation;
    loadingMap.value = true;
    try {
      const m = await apiClient().call('computeAttribution', {
        checkpointId: t.checkpointId,
        datasetId: t.datasetId,
        imageId: t.imageId,
        method: method.value,
        ...partner(),
      });
      if (mine !== generation) return;
      map.value = {
        method: m.method,
        width: m.width,
        height: m.height,
        values: decodeMap(m.values, m.width * m.height),
        massFraction: m.massFraction,
        entropy: m.entropy,
        ...(m.lattice === undefined ? {} : { lattice: m.lattice }),
        ...(m.partnerId === undefined ? {} : { partnerId: m.partnerId }),
      };
      error.value = undefined;
    } catch (e) {
      if (mine === generation) error.value = (e as Error).message;
    } finally {
      if (mine === generation) loadingMap.value = false;
    }
  }

  async function loadMasks(): Promise<void> {
    const t = target.value;
    if (!t || !showMasks.value) {
      rects.value = [];
      return;
    }
    const request = { ...t };
    try {
      const result = await apiClient().call('computeMasks', {
        checkpointId: t.checkpointId,
        datasetId: t.datasetId,
        imageId: t.imageId,
        kind: maskKind.value,
        n: maskCount.value,
        h: maskHeight.value,
        w: maskWidth.value,
        seed: seed.value,
        centres: maskCentres.value,
        method: method.value,
        ...partner(),
      });
      if (target.value?.imageId === request.imageId && target.value.checkpointId === request.checkpointId) {
        rects.value = result.rects;
      }
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function loadPairs(): Promise<void> {
    const t = target.value;
    if (!t) return;
    loadingPairs.value = true;
    try {
      const result = await apiClient().call('listPairs', {
        datasetId: t.datasetId,
        imageId: t.imageId,
        checkpointId: t.checkpointId,
      });
      if (target.value?.imageId !== t.imageId) return;
      pairs.value = result.pairs;
      groupAccuracy.value = result.groupAccuracy;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loadingPairs.value = false;
    }
  }

  async function setGam(on: boolean): Promise<void> {
    showGam.value = on;
    if (on && !map.value) await loadMap();
  }

  async function setGradCam(on: boolean): Promise<void> {
    gradCam.value = on;
    map.value = undefined;
    await Promise.all([loadMap(), loadMasks()]);
  }

  async function setMasks(on: boolean): Promise<void> {
    showMasks.value = on;
    await loadMasks();
  }

  async function setMaskOptions(options: {
    kind?: MaskKind;
    centres?: 'raw' | 'smoothed';
    n?: number;
    h?: number;
    w?: number;
  }): Promise<void> {
    if (options.kind !== undefined) maskKind.value = options.kind;
    if (options.centres !== undefined) maskCentres.value = options.centres;
    if (options.n !== undefined) maskCount.value = options.n;
    if (options.h !== undefined) maskHeight.value = options.h;
    if (options.w !== undefined) maskWidth.value = options.w;
    await loadMasks();
  }

  async function reseed(): Promise<void> {
    seed.value = (seed.value % 1_000_000) + 1;
    await loadMasks();
  }

  return {
    target,
    showGam,
    gradCam,
    opacity,
    colormap,
    saturation,
    showMasks,
    maskKind,
    maskCentres,
    maskCount,
    maskHeight,
    maskWidth,
    seed,
    map,
    rects,
    pairs,
    groupAccuracy,
    loadingMap,
    loadingPairs,
    error,
    method,
    show,
    loadMap,
    loadMasks,
    loadPairs,
    setGam,
    setGradCam,
    setMasks,
    setMaskOptions,
    reseed,
  };
});
