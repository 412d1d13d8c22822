/**
 * The run folder: one layout for every piece of long work, whether a job the app started (synthetic
 * faces, group averages, an audit) or a training run started by `gabn train`, so the app lists them
 * all and a person reads them all the same way:
 *
 *   config.json     what was asked: the kind, its parameters, when, and the command line
 *   status.json     where it is: state, progress, times, message, error (always rewritten atomically)
 *   log.txt         what happened, in words
 *   metrics.jsonl   one JSON object per line (a training run: per step and per epoch)
 *   result.json     what the work produced, once it succeeded
 *   run.lock        the live process working in the folder (lock.ts)
 *   …               the kind's own outputs (checkpoints/ of a training run, PNGs, reports)
 */
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomicSync, writeJsonAtomicSync } from '../base/atomic-files.ts';
import { GabnError } from '../base/errors.ts';

export const CONFIG_FILE = 'config.json';
export const STATUS_FILE = 'status.json';
export const LOG_FILE = 'log.txt';
export const METRICS_FILE = 'metrics.jsonl';
export const RESULT_FILE = 'result.json';

/**
 * queued → running → succeeded | failed | cancelled | stopped. `stopped` is a training run that
 * saved a resume point and can continue; `interrupted` is what a run reads as when the process
 * working on it died without saying so (a crash, the app closed, a killed machine).
 */
export const RUN_STATES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'stopped',
  'interrupted',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** States in which a process is (or should be) working on the run. */
export const ACTIVE_STATES: readonly RunState[] = ['queued', 'running'];

export interface RunProgress {
  readonly done: number;
  readonly total: number;
  readonly message?: string;
}

/** Where a training run is, besides its progress in steps. */
export interface TrainingPosition {
  /** The epoch in progress or last finished, counted from 1. */
  readonly epoch: number;
  readonly stepsPerEpoch: number;
  /** The checkpoint a resume starts from, relative to the run folder, when there is one. */
  readonly checkpoint?: string;
}

export interface RunConfig {
  readonly kind: string;
  readonly params: Record<string, unknown>;
  /** ISO 8601. */
  readonly createdAt: string;
  /** The command that started it, for people (`gabn train --preset gabn …`). */
  readonly command?: string;
  /** Runs of the same folder this one waits for before it starts (an ablation's comparison). */
  readonly after?: readonly string[];
}

export interface RunStatus {
  readonly id: string;
  readonly kind: string;
  readonly state: RunState;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly updatedAt?: string;
  /** When it joined the queue (its place: queued runs start in this order). */
  readonly queuedAt?: string;
  readonly progress?: RunProgress;
  /** Where it is, in words ("epoch 2, step 14/50"). */
  readonly message?: string;
  /** Why it failed or was interrupted. */
  readonly error?: string;
  /** The process working on it while it is active. */
  readonly pid?: number;
  /** The queue worker that runs it, or ran it last ("host/pid"), when a queue runs the jobs. */
  readonly worker?: string;
  readonly training?: TrainingPosition;
}

export function newRunId(kind: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${kind}-${randomBytes(3).toString('hex')}`;
}

const RUN_ID = /^[0-9]{8}-[0-9]{6}-[a-z-]+-[0-9a-f]{6}$/;

export function isRunId(id: string): boolean {
  return RUN_ID.test(id);
}

/** Makes the folder with its config.json and an empty log. */
export function createRunFolder(dir: string, config: RunConfig): void {
  mkdirSync(dir, { recursive: true });
  writeJsonAtomicSync(path.join(dir, CONFIG_FILE), config);
  if (!existsSync(path.join(dir, LOG_FILE))) writeFileSync(path.join(dir, LOG_FILE), '');
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new GabnError('missing-file', `${what} cannot be read`, { file, expected: 'a run folder', cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new GabnError('malformed', `not valid JSON: ${(error as Error).message}`, { file });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * config.json. A training run folder written before runs and jobs shared this layout kept its
 * parameters at the top level (`{kind: 'train', preset, config, data, …}`): read as `params`.
 */
export function readRunConfig(dir: string): RunConfig {
  const file = path.join(dir, CONFIG_FILE);
  const json = readJson(file, "the run's config.json");
  if (!isObject(json) || typeof json.kind !== 'string' || typeof json.createdAt !== 'string') {
    throw new GabnError('malformed', 'not a run configuration', {
      file,
      expected: 'an object with kind, params and createdAt',
    });
  }
  if (isObject(json.params)) return json as unknown as RunConfig;
  const { kind, createdAt, command, ...params } = json;
  return { kind, createdAt, params, ...(typeof command === 'string' ? { command } : {}) };
}

/** status.json, or undefined for a folder that has none yet. Reads the 'completed' of earlier training runs as 'succeeded'. */
export function readRunStatus(dir: string): RunStatus | undefined {
  const file = path.join(dir, STATUS_FILE);
  if (!existsSync(file)) return undefined;
  const json = readJson(file, "the run's status.json");
  if (!isObject(json) || typeof json.state !== 'string') {
    throw new GabnError('malformed', 'not a run status', { file, expected: 'an object with a state' });
  }
  const state = json.state === 'completed' ? 'succeeded' : json.state;
  if (!(RUN_STATES as readonly string[]).includes(state)) {
    throw new GabnError('malformed', `unknown run state '${state}'`, {
      file,
      expected: `one of ${RUN_STATES.join(', ')}`,
    });
  }
  return { ...legacyTraining(json), id: path.basename(dir), state: state as RunState };
}

/**
 * A training run's status.json written before runs and jobs shared one layout held its position at
 * the top level (`epoch`, `step`, `totalSteps`, `stepsPerEpoch`, `checkpoint`): read as `training`
 * and `progress`.
 */
function legacyTraining(json: Record<string, unknown>): RunStatus {
  if (json.training !== undefined || typeof json.stepsPerEpoch !== 'number')
    return json as unknown as RunStatus;
  const { epoch, step, totalSteps, stepsPerEpoch, checkpoint, ...rest } = json;
  const base = rest as unknown as RunStatus;
  return {
    ...base,
    kind: base.kind ?? 'train',
    createdAt: base.createdAt ?? String(json.updatedAt ?? ''),
    progress: { done: Number(step), total: Number(totalSteps) },
    training: {
      epoch: Number(epoch),
      stepsPerEpoch,
      ...(typeof checkpoint === 'string' ? { checkpoint } : {}),
    },
  };
}

/** Rewrites status.json atomically, stamped with the time. */
export function writeRunStatus(dir: string, status: RunStatus): void {
  writeJsonAtomicSync(path.join(dir, STATUS_FILE), { ...status, updatedAt: new Date().toISOString() });
}

export function readRunResult(dir: string): unknown {
  const file = path.join(dir, RESULT_FILE);
  return existsSync(file) ? readJson(file, "the run's result.json") : undefined;
}

export function writeRunResult(dir: string, result: unknown): void {
  writeJsonAtomicSync(path.join(dir, RESULT_FILE), result);
}

/** Appends raw text to log.txt (what a worker printed). */
export function appendRunLogText(dir: string, text: string): void {
  appendFileSync(path.join(dir, LOG_FILE), text);
}

/** Appends one line to log.txt, stamped with the time. */
export function appendRunLog(dir: string, line: string): void {
  appendRunLogText(dir, `${new Date().toISOString()} ${line}\n`);
}

/** Appends one record to metrics.jsonl (NaN and ±Infinity become null). */
export function appendMetrics(dir: string, record: Record<string, unknown>): void {
  appendFileSync(path.join(dir, METRICS_FILE), `${JSON.stringify(record)}\n`);
}

/** Every record of metrics.jsonl; a line cut short by a crash is skipped. */
export function readMetrics(dir: string): Record<string, unknown>[] {
  return readMetricsFrom(dir, 0).records;
}

/**
 * The records of metrics.jsonl from byte `offset` on, complete lines only, and the offset the next
 * read starts at: a long run's file is read once, then only what it gained. A file shorter than
 * `offset` was cut back by a resume: the caller reads it again from 0.
 */
export function readMetricsFrom(
  dir: string,
  offset: number,
): { records: Record<string, unknown>[]; next: number } {
  const file = path.join(dir, METRICS_FILE);
  if (!existsSync(file)) return { records: [], next: 0 };
  const size = statSync(file).size;
  if (size <= offset) return { records: [], next: Math.min(offset, size) };
  const buffer = Buffer.alloc(size - offset);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, offset);
  } finally {
    closeSync(fd);
  }
  // Only up to the last newline: a line being written is read next time.
  const end = buffer.lastIndexOf(0x0a) + 1;
  const records: Record<string, unknown>[] = [];
  for (const line of buffer.subarray(0, end).toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = JSON.parse(line) as unknown;
      if (isObject(record)) records.push(record);
    } catch {
      // a line cut short by a crash
    }
  }
  return { records, next: offset + end };
}

/**
 * Cuts metrics.jsonl back to the records of steps 1..`step` before a resume from the checkpoint taken
 * at that step. A run that crashed, or failed on a non-finite loss, recorded steps after its last
 * checkpoint; the resumed run records them again, and each step must appear once. A line cut short
 * by the crash goes too. Returns how many lines were dropped.
 */
export function truncateMetrics(dir: string, step: number): number {
  const file = path.join(dir, METRICS_FILE);
  if (!existsSync(file)) return 0;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  const kept = lines.filter((line) => {
    try {
      const record = JSON.parse(line) as { step?: unknown };
      return typeof record.step === 'number' && record.step <= step;
    } catch {
      return false;
    }
  });
  if (kept.length < lines.length) writeFileAtomicSync(file, kept.map((line) => `${line}\n`).join(''));
  return lines.length - kept.length;
}

/** The last `lines` lines of the run's log (read from the end: logs of long runs grow large). */
export async function logTail(dir: string, lines = 20): Promise<string> {
  const file = path.join(dir, LOG_FILE);
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const length = Math.min(size, 16_384);
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    await handle.close();
  }
}
