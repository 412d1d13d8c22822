/**
 * The live view of runs: each watched or compared run's metrics as chart series, filled from the
 * job's `job-metrics` events as it trains and from its metrics.jsonl for a run opened later (or one
 * `gabn train` runs in a terminal, read again every few seconds); the watched run's log tail and its
 * attention strip. Series live outside Vue's reactivity; `version` says when they changed, at most a
 * few times a second, so charts redraw smoothly however fast steps come.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { MetricsRecord, StripIndex } from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';
import { appendRecords, emptySeries, type RunSeries } from '../training/series.ts';

const LOG_LINES = 200;
const REDRAW_MS = 250;
const POLL_MS = 3000;

export const useRunMonitorStore = defineStore('run-monitor', () => {
  const watchedId = ref<string>();
  const version = ref(0);
  const log = ref<string[]>([]);
  const strip = ref<StripIndex>();
  const error = ref<string>();
  const series = new Map<string, RunSeries>();
  /** Events that arrived while a run's file was being read, applied after it. */
  const pending = new Map<string, MetricsRecord[]>();
  let redraw: ReturnType<typeof setTimeout> | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  let unsubscribe: (() => void)[] = [];
  /** Runs that are read again every few seconds (no events reach the app from them). */
  const polled = new Set<string>();

  function changed(): void {
    if (redraw !== undefined) return;
    redraw = setTimeout(() => {
      redraw = undefined;
      version.value++;
    }, REDRAW_MS);
  }

  async function loadStrip(id: string): Promise<void> {
    try {
      const index = await apiClient().call('readRunStrip', id);
      if (watchedId.value === id && index) strip.value = index;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function loadLog(id: string): Promise<void> {
    try {
      const text = await apiClient().call('readRunLog', { jobId: id, lines: 60 });
      if (watchedId.value === id) log.value = text ? text.split('\n') : [];
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  /** The run's series, read from its file the first time. */
  async function ensure(id: string): Promise<RunSeries> {
    const known = series.get(id);
    if (known) return known;
    pending.set(id, []);
    const s = emptySeries();
    try {
      const answer = await apiClient().call('readRunMetrics', { jobId: id });
      appendRecords(s, answer.records);
      s.records = answer.next;
    } catch (e) {
      error.value = (e as Error).message;
    }
    appendRecords(s, pending.get(id) ?? []);
    pending.delete(id);
    series.set(id, s);
    changed();
    return s;
  }

  /** Reads what a polled run's file gained; a file cut back by a resume is read again whole. */
  async function refreshPolled(): Promise<void> {
    for (const id of polled) {
      const s = series.get(id);
      if (!s) continue;
      try {
        const answer = await apiClient().call('readRunMetrics', { jobId: id, from: s.records });
        if (answer.next < s.records) {
          series.delete(id);
          await ensure(id);
        } else if (answer.records.length > 0) {
          appendRecords(s, answer.records);
          s.records = answer.next;
          changed();
          if (id === watchedId.value && answer.records.some((r) => r.type === 'epoch')) void loadStrip(id);
        }
      } catch {
        polled.delete(id);
      }
    }
    if (watchedId.value && polled.has(watchedId.value)) void loadLog(watchedId.value);
  }

  function subscribe(): void {
    if (unsubscribe.length > 0) return;
    const client = apiClient();
    unsubscribe = [
      client.on('job-metrics', ({ id, record }) => {
        const waiting = pending.get(id);
        if (waiting) waiting.push(record);
        const s = series.get(id);
        if (s) {
          appendRecords(s, [record]);
          changed();
        }
        // The strip of an epoch is drawn before its record is written, the first before the first step.
        if (id === watchedId.value && (record.type === 'epoch' || (s && s.steps.length === 1)))
          void loadStrip(id);
      }),
      client.on('job-log', ({ id, line }) => {
        if (id === watchedId.value) log.value = [...log.value, line].slice(-LOG_LINES);
      }),
      client.on('job-finished', (job) => {
        if (job.id === watchedId.value) {
          void loadStrip(job.id);
          void loadLog(job.id);
        }
      }),
    ];
    poll = setInterval(() => void refreshPolled(), POLL_MS);
  }

  function stop(): void {
    for (const off of unsubscribe) off();
    unsubscribe = [];
    if (poll) clearInterval(poll);
    poll = undefined;
  }

  /** Shows a run live; `external` runs (no events reach the app) are read again every few seconds. */
  async function watch(id: string, external = false): Promise<void> {
    subscribe();
    if (watchedId.value !== id) {
      strip.value = undefined;
      log.value = [];
    }
    watchedId.value = id;
    if (external) polled.add(id);
    await Promise.all([ensure(id), loadStrip(id), loadLog(id)]);
  }

  function setPolled(id: string, external: boolean): void {
    if (external) polled.add(id);
    else polled.delete(id);
  }

  /** Forgets a run's series (it was deleted). */
  function forget(id: string): void {
    series.delete(id);
    polled.delete(id);
    if (watchedId.value === id) watchedId.value = undefined;
    changed();
  }

  return {
    watchedId,
    version,
    log,
    strip,
    error,
    seriesOf: (id: string) => series.get(id),
    ensure,
    watch,
    setPolled,
    forget,
    subscribe,
    stop,
  };
});
