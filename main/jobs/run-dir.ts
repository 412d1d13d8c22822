/**
 * A run directory per job: config.json (what was asked), status.json (where it is, rewritten
 * atomically so a reader never sees half a file), log.txt (everything the worker printed),
 * metrics.jsonl, result.json and the job's own outputs.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { JobInfo, JobKind } from '../api/contract.ts';
import { GabnError } from '../errors.ts';

export const CONFIG_FILE = 'config.json';
export const STATUS_FILE = 'status.json';
export const LOG_FILE = 'log.txt';
export const RESULT_FILE = 'result.json';
export const METRICS_FILE = 'metrics.jsonl';

/** status.json: the job as the API shows it, plus the worker's process id while it runs. */
export interface RunStatus extends Omit<JobInfo, 'runDir' | 'result'> {
  readonly pid?: number;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeTextAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Readers see the old file or the whole new one: the text goes to a temporary file renamed over it. */
export function writeTextAtomic(file: string, text: string): void {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  writeFileSync(temp, text);
  renameSync(temp, file);
}

export function newRunId(kind: JobKind, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${kind}-${randomBytes(3).toString('hex')}`;
}

const RUN_ID = /^[0-9]{8}-[0-9]{6}-[a-z-]+-[0-9a-f]{6}$/;

export function isRunId(id: string): boolean {
  return RUN_ID.test(id);
}

export function createRunDir(runsDir: string, id: string, config: unknown): string {
  const dir = path.join(runsDir, id);
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(path.join(dir, CONFIG_FILE), config);
  writeFileSync(path.join(dir, LOG_FILE), '');
  return dir;
}

export function readStatus(dir: string): RunStatus | undefined {
  const file = path.join(dir, STATUS_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunStatus;
  } catch (error) {
    throw new GabnError('malformed', `not valid JSON: ${(error as Error).message}`, { file });
  }
}

export function readResult(dir: string): unknown {
  const file = path.join(dir, RESULT_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown) : undefined;
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
