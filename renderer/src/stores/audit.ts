/**
 * The Audit view: what to audit (checkpoints on a dataset, or scores CSV files) with the protocol's
 * options, the audit job (its progress comes through the status store's events), and the report it
 * makes: its point estimates as soon as the job has them, then the whole report with intervals and
 * comparisons. Another view can show a report here (Reports) or choose the checkpoint (Runs).
 */
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { AuditJobParams, JobInfo, ReportView } from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';
import { useStatusStore } from './status.ts';

export type AuditSource = 'checkpoints' | 'scores';
export type WrittenFormat = 'csv' | 'html' | 'pdf';

/** "0.001, 0.01" as rates in (0, 1), or the reason it is not. */
export function parseRates(text: string): number[] | string {
  const parts = text
    .split(/[\s,;]+/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) return 'give at least one target FMR';
  const rates = parts.map(Number);
  const bad = parts.find((_, k) => !(Number.isFinite(rates[k]) && rates[k]! > 0 && rates[k]! < 1));
  if (bad !== undefined) return `'${bad}' is not a rate between 0 and 1`;
  if (rates.length > 6) return 'at most six target FMRs';
  return rates;
}

export const useAuditStore = defineStore('audit', () => {
  const status = useStatusStore();
  const source = ref<AuditSource>('checkpoints');
  /** The checkpoints to audit, in order: the first is A, every other is compared with it. */
  const checkpointIds = ref<string[]>([]);
  const datasetId = ref<string>();
  /** Scores CSV paths, one per line. */
  const scoresText = ref('');
  const scoreKind = ref<'similarity' | 'distance'>('similarity');
  const flip = ref(true);
  const bootstrap = ref(1000);
  const seed = ref(1);
  const targetFmrsText = ref('0.001, 0.01');
  const attention = ref(true);
  const attentionImages = ref(32);
  const noFaces = ref(false);
  const formats = ref<WrittenFormat[]>(['html']);

  const jobId = ref<string>();
  const report = ref<ReportView>();
  /** Which audited source's details are shown (an index into report.reports). */
  const shown = ref(0);
  /** The phases the running audit went through, in order (embedding, pairs, bootstrap, …). */
  const phases = ref<string[]>([]);
  const error = ref<string>();
  let loading: Promise<void> | undefined;

  const job = computed<JobInfo | undefined>(() => status.jobs.find((j) => j.id === jobId.value));
  const running = computed(() => job.value?.state === 'running' || job.value?.state === 'queued');
  const targetFmrs = computed(() => parseRates(targetFmrsText.value));
  const scores = computed(() =>
    scoresText.value
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== ''),
  );
  /** Why Run cannot start yet, in words; undefined when it can. */
  const problem = computed<string | undefined>(() => {
    if (typeof targetFmrs.value === 'string') return targetFmrs.value;
    if (source.value === 'checkpoints') {
      if (checkpointIds.value.length === 0) return 'choose a checkpoint to audit';
      if (datasetId.value === undefined) return 'choose the dataset to audit it on';
    } else if (scores.value.length === 0) return 'give a scores CSV file';
    const sources = source.value === 'checkpoints' ? checkpointIds.value.length : scores.value.length;
    if (sources > 8) return 'at most 8 sources side by side';
    if (sources > 1 && bootstrap.value < 1) return 'comparing needs bootstrap resamples';
    return undefined;
  });

  function toggleCheckpoint(id: string): void {
    checkpointIds.value = checkpointIds.value.includes(id)
      ? checkpointIds.value.filter((c) => c !== id)
      : [...checkpointIds.value, id];
  }

  /** Makes a checkpoint A, the one the others are compared with. */
  function makeFirst(id: string): void {
    checkpointIds.value = [id, ...checkpointIds.value.filter((c) => c !== id)];
  }

  /** Chooses the checkpoints to audit (another view sends the person here with one). */
  function choose(ids: string[]): void {
    source.value = 'checkpoints';
    checkpointIds.value = [...ids];
  }

  function params(paths: { checkpoints: string[]; data?: string }): AuditJobParams {
    const common: AuditJobParams = {
      flip: flip.value,
      bootstrap: bootstrap.value,
      seed: seed.value,
      targetFmrs: targetFmrs.value as number[],
      attentionImages: attention.value ? attentionImages.value : 0,
      noFaces: noFaces.value,
      formats: [...formats.value],
    };
    return source.value === 'checkpoints'
      ? { ...common, checkpoints: paths.checkpoints, ...(paths.data ? { data: paths.data } : {}) }
      : { ...common, scores: scores.value, scoreKind: scoreKind.value };
  }

  async function run(paths: { checkpoints: string[]; data?: string }): Promise<void> {
    error.value = problem.value;
    if (problem.value !== undefined) return;
    try {
      const started = await apiClient().call('startJob', { kind: 'audit', params: params(paths) });
      status.upsert(started);
      jobId.value = started.id;
      report.value = undefined;
      shown.value = 0;
      phases.value = [];
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function cancel(): Promise<void> {
    if (jobId.value !== undefined) await status.cancel(jobId.value);
  }

  async function load(id: string, quiet: boolean): Promise<void> {
    try {
      const view = await apiClient().call('openReport', id);
      if (jobId.value === id || !quiet) report.value = view;
    } catch (e) {
      // A preview asked for too early is simply not there yet.
      if (!quiet) error.value = (e as Error).message;
    }
  }

  /** Shows a report of the workspace here (the Reports view's "Show in Audit"). */
  async function show(id: string): Promise<void> {
    jobId.value = undefined;
    shown.value = 0;
    error.value = undefined;
    await load(id, false);
  }

  // The point estimates once the bootstrap starts, the whole report once the job has succeeded.
  watch(job, (j) => {
    const phase = j?.progress?.message;
    if (phase !== undefined && phases.value.at(-1) !== phase) phases.value = [...phases.value, phase];
    if (j === undefined || loading) return;
    const done = j.state === 'succeeded' && (report.value === undefined || report.value.preliminary);
    const preview =
      j.state === 'running' && report.value === undefined && j.progress?.message?.startsWith('bootstrap');
    if (done || preview) {
      loading = load(j.id, !done).finally(() => {
        loading = undefined;
        // The job may have finished while its preview was read.
        const now = job.value;
        if (now?.state === 'succeeded' && report.value?.preliminary) void load(now.id, false);
      });
    } else if (j.state === 'failed' || j.state === 'interrupted' || j.state === 'cancelled') {
      // Point estimates of an audit that did not finish are no report: they go.
      if (report.value?.preliminary) report.value = undefined;
      if (j.state !== 'cancelled') error.value = j.error ?? `the audit ${j.state}`;
    }
  });

  return {
    source,
    checkpointIds,
    datasetId,
    scoresText,
    scoreKind,
    flip,
    bootstrap,
    seed,
    targetFmrsText,
    attention,
    attentionImages,
    noFaces,
    formats,
    jobId,
    job,
    running,
    report,
    shown,
    phases,
    error,
    targetFmrs,
    problem,
    toggleCheckpoint,
    makeFirst,
    choose,
    run,
    cancel,
    show,
  };
});
