/**
 * A training run's folder, the same layout as every job's run directory (main/jobs/run-dir.ts) so the
 * app lists training runs beside its other jobs:
 *
 *   config.json     what was asked: preset, the resolved configuration, data, val, from, command
 *   status.json     where it is (written atomically at every step): state, epoch, step, checkpoint
 *   metrics.jsonl   one JSON object per step ("type": "step") and per epoch ("type": "epoch")
 *   log.txt         what happened, in words
 *   checkpoints/    epoch-N.gabn at the end of each epoch, step-N.gabn when stopped mid-epoch
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../errors.ts';
import {
  CONFIG_FILE,
  LOG_FILE,
  METRICS_FILE,
  STATUS_FILE,
  writeJsonAtomic,
  writeTextAtomic,
} from '../jobs/run-dir.ts';
import type { TrainingConfig } from './training-config.ts';

export interface RunConfig {
  readonly kind: 'train';
  readonly preset: string;
  readonly config: TrainingConfig;
  /** Absolute paths. */
  readonly data: string;
  readonly val?: string;
  readonly from?: string;
  readonly command: string;
  readonly createdAt: string;
}

export type RunState = 'running' | 'completed' | 'stopped' | 'failed';

export interface RunStatus {
  readonly state: RunState;
  /** Epochs count from 1 for people; `epoch` is the one in progress or last finished. */
  readonly epoch: number;
  /** Steps done over the whole run. */
  readonly step: number;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  /** The checkpoint a resume starts from (relative to the run folder), when there is one. */
  readonly checkpoint?: string;
  readonly message: string;
  readonly updatedAt: string;
}

export function writeRunConfig(runDir: string, config: RunConfig): void {
  writeJsonAtomic(path.join(runDir, CONFIG_FILE), config);
}

export function readRunConfig(runDir: string): RunConfig {
  const file = path.join(runDir, CONFIG_FILE);
  if (!existsSync(file)) {
    throw new GabnError('missing-file', 'not a training run: config.json is missing', {
      file,
      expected: 'a folder written by gabn train --out',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new GabnError('malformed', `not valid JSON: ${(error as Error).message}`, { file });
  }
  if ((parsed as { kind?: unknown }).kind !== 'train') {
    throw new GabnError('malformed', 'not a training run configuration', {
      file,
      expected: '"kind": "train"',
    });
  }
  return parsed as RunConfig;
}

export function writeRunStatus(runDir: string, status: Omit<RunStatus, 'updatedAt'>): void {
  writeJsonAtomic(path.join(runDir, STATUS_FILE), { ...status, updatedAt: new Date().toISOString() });
}

export function readRunStatus(runDir: string): RunStatus {
  const file = path.join(runDir, STATUS_FILE);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunStatus;
  } catch (error) {
    throw new GabnError('missing-file', `the run's status cannot be read: ${(error as Error).message}`, {
      file,
      expected: 'status.json written by gabn train',
    });
  }
}

/** JSON with NaN and ±Infinity as null (JSON has no such numbers). */
function finiteJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? null : v,
  );
}

export function appendMetrics(runDir: string, record: Record<string, unknown>): void {
  appendFileSync(path.join(runDir, METRICS_FILE), `${finiteJson(record)}\n`);
}

/**
 * Cuts metrics.jsonl back to the records of steps 1..`step` before a resume from the checkpoint taken
 * at that step. A run that crashed, or failed on a non-finite loss, recorded steps after its last
 * checkpoint; the resumed run records them again, and each step must appear once. A line cut short
 * by the crash goes too. Returns how many lines were dropped.
 */
export function truncateMetrics(runDir: string, step: number): number {
  const file = path.join(runDir, METRICS_FILE);
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
  if (kept.length < lines.length) writeTextAtomic(file, kept.map((line) => `${line}\n`).join(''));
  return lines.length - kept.length;
}

export function appendLog(runDir: string, line: string): void {
  appendFileSync(path.join(runDir, LOG_FILE), `${new Date().toISOString()} ${line}\n`);
}
