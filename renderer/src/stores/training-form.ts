/**
 * The Train view's form: the preset, the named configuration under it, what the person changed of
 * its settings, the data and the checkpoint to start from; the problems the engine finds at each
 * field (checked by the same schema as `gabn train --set`, as the person types); the time-per-epoch
 * estimate; and launching the run or a Table 4 grid.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { JobInfo, TrainingConfig, TrainingOptions, TrainJobParams } from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';
import { setPath } from '../training/settings.ts';
import { useStatusStore } from './status.ts';

/** Quiet time after a keystroke before the request is checked. */
const VALIDATE_AFTER_MS = 200;

export const useTrainingFormStore = defineStore('training-form', () => {
  const options = ref<TrainingOptions>();
  const preset = ref('fine-tune');
  const configName = ref('tiny');
  /** What the person typed into settings, by dotted key; the rest comes from the preset and configuration. */
  const edits = ref<Record<string, unknown>>({});
  const data = ref('');
  const val = ref('');
  const from = ref('');
  /** Problems by field: a setting's key, or preset, data, val, from. */
  const problems = ref<Record<string, string>>({});
  const checking = ref(false);
  const error = ref<string>();
  const launching = ref(false);
  const estimateJobId = ref<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;

  const presetInfo = computed(() => options.value?.presets.find((p) => p.name === preset.value));
  const config = computed<TrainingConfig | undefined>(() => {
    let c = options.value?.resolved[configName.value]?.[preset.value];
    if (c === undefined) return undefined;
    for (const [key, value] of Object.entries(edits.value)) c = setPath(c, key, value);
    return c;
  });
  const request = computed<TrainJobParams | undefined>(() =>
    config.value === undefined
      ? undefined
      : {
          preset: preset.value,
          config: config.value,
          data: data.value.trim(),
          ...(val.value.trim() ? { val: val.value.trim() } : {}),
          ...(from.value.trim() ? { from: from.value.trim() } : {}),
        },
  );
  const canLaunch = computed(
    () => request.value !== undefined && !checking.value && Object.keys(problems.value).length === 0,
  );

  async function load(): Promise<void> {
    try {
      options.value = await apiClient().call('describeTraining', undefined);
      const s = options.value.suggested;
      data.value ||= s.data ?? '';
      val.value ||= s.val ?? '';
      from.value ||= s.from ?? '';
      // Without a checkpoint to fine-tune, GABN from scratch.
      if (!from.value && presetInfo.value?.needsCheckpoint) preset.value = 'gabn';
      error.value = undefined;
      await validate();
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function validate(): Promise<void> {
    if (request.value === undefined) return;
    const mine = ++asked;
    checking.value = true;
    try {
      const found = await apiClient().call('validateTraining', request.value as TrainJobParams);
      if (mine !== asked) return;
      problems.value = Object.fromEntries(found.map((p) => [p.path, p.message]));
    } catch (e) {
      if (mine === asked) error.value = (e as Error).message;
    } finally {
      if (mine === asked) checking.value = false;
    }
  }

  function changed(): void {
    checking.value = true;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void validate(), VALIDATE_AFTER_MS);
  }

  function setSetting(key: string, value: unknown): void {
    edits.value = { ...edits.value, [key]: value };
    changed();
  }

  function resetSettings(): void {
    edits.value = {};
    changed();
  }

  function choose(field: 'preset' | 'configName' | 'data' | 'val' | 'from', value: string): void {
    ({ preset, configName, data, val, from })[field].value = value;
    changed();
  }

  /** Checks the request, then makes the call; the jobs it queued show in the status bar and queue at once. */
  async function start<T>(call: () => Promise<T>, jobsOf: (result: T) => JobInfo[]): Promise<T | undefined> {
    if (timer) clearTimeout(timer);
    await validate();
    if (!canLaunch.value) return undefined;
    launching.value = true;
    try {
      const result = await call();
      error.value = undefined;
      const status = useStatusStore();
      for (const job of jobsOf(result)) status.upsert(job);
      return result;
    } catch (e) {
      error.value = (e as Error).message;
      return undefined;
    } finally {
      launching.value = false;
    }
  }

  const launch = (): Promise<JobInfo | undefined> =>
    start(
      () => apiClient().call('startJob', { kind: 'train', params: request.value! }),
      (job) => [job],
    );

  async function estimate(): Promise<JobInfo | undefined> {
    const job = await start(
      () => apiClient().call('startJob', { kind: 'train-estimate', params: request.value! }),
      (j) => [j],
    );
    if (job) estimateJobId.value = job.id;
    return job;
  }

  const queueAblation = (presets: string[], seeds: number) =>
    start(
      () => apiClient().call('startAblation', { base: request.value!, presets, seeds }),
      (queued) => [...queued.runs, queued.comparison],
    );

  return {
    options,
    preset,
    configName,
    edits,
    data,
    val,
    from,
    problems,
    checking,
    error,
    launching,
    estimateJobId,
    presetInfo,
    config,
    request,
    canLaunch,
    load,
    validate,
    setSetting,
    resetSettings,
    choose,
    launch,
    estimate,
    queueAblation,
  };
});
