/**
 * The run registry is the runs folder: every folder in it with a status.json is a run, whoever made
 * it — a job of this app, of an earlier one, or `gabn train --out <workspace>/runs/NAME` in a
 * terminal. This file reads one from disk, tells whether a process still works on it (its lock), and
 * removes one.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { removeLeftoverTemps } from '../base/atomic-files.ts';
import { GabnError } from '../base/errors.ts';
import {
  ACTIVE_STATES,
  type RunConfig,
  type RunState,
  type RunStatus,
  readRunConfig,
  readRunResult,
  readRunStatus,
  STATUS_FILE,
} from '../runs/run-folder.ts';
import { interrupted, runLockHolder } from '../runs/run-lock.ts';
import { type Entry, fromDisk, isSelfReporting } from './entry.ts';

/** Names the registry lists: a job's id, or a name given to `gabn train --out` (no dot files, no odd characters). */
const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isRunName(name: string): boolean {
  return RUN_NAME.test(name);
}

export function isActive(state: RunState): boolean {
  return ACTIVE_STATES.includes(state);
}

export interface DiskRun {
  readonly status: RunStatus;
  readonly config: RunConfig | undefined;
}

/** The run in `runDir` as its files say; undefined for a folder that holds no run (or a broken status.json). */
export function readDiskRun(runDir: string): DiskRun | undefined {
  if (!existsSync(path.join(runDir, STATUS_FILE))) return undefined;
  let status: RunStatus | undefined;
  try {
    status = readRunStatus(runDir);
  } catch {
    return undefined;
  }
  if (status === undefined) return undefined;
  let config: RunConfig | undefined;
  try {
    config = readRunConfig(runDir);
  } catch {
    // listed, with no parameters
  }
  // A status written before runs carried their kind is a training run's (gabn train wrote those).
  return { status: { ...status, kind: status.kind ?? config?.kind ?? 'train' }, config };
}

/**
 * Deletes a run's folder: renamed first out of the registry's sight (a dot name), then removed, so a
 * deletion cut short never leaves half a run listed.
 */
export function removeRunFolder(runsDir: string, id: string): void {
  if (!isRunName(id)) throw new GabnError('usage', `no run '${id.slice(0, 60)}'`);
  const dir = path.join(runsDir, id);
  const doomed = path.join(runsDir, `.${id}.deleting-${randomBytes(4).toString('hex')}`);
  try {
    renameSync(dir, doomed);
  } catch (cause) {
    throw new GabnError('missing-file', `cannot delete the run: ${(cause as Error).message}`, {
      file: dir,
      cause,
    });
  }
  rmSync(doomed, { recursive: true, force: true });
}

const DELETING = /^\..+\.deleting-[0-9a-f]{8}$/;

/** Removes what deletions cut short left (renamed folders). */
export function removeLeftoverDeletions(runsDir: string, names: readonly string[]): void {
  for (const name of names) {
    if (DELETING.test(name)) rmSync(path.join(runsDir, name), { recursive: true, force: true });
  }
}

function statusTime(runDir: string): number | undefined {
  try {
    return statSync(path.join(runDir, STATUS_FILE)).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * A queue worker writes 'running' as it starts the job's process, which takes the folder's lock a
 * moment later: until then the run is starting, not interrupted.
 */
const STARTING_GRACE_MS = 20_000;

function starting(status: RunStatus): boolean {
  const written = Date.parse(status.updatedAt ?? '');
  return (
    status.state === 'running' && status.worker !== undefined && Date.now() - written < STARTING_GRACE_MS
  );
}

export interface SyncHooks {
  writeStatus(entry: Entry): void;
  /** A run worked on by another process ended. */
  ended(id: string, entry: Entry): void;
}

/**
 * Reads the runs folder again into `entries`: new runs, and runs whose status.json another process
 * changed (a `gabn train` in a terminal). A run left running by a process that is gone is marked
 * interrupted; a run whose folder went is dropped.
 */
export function syncEntries(runsDir: string, entries: Map<string, Entry>, hooks: SyncHooks): void {
  const names = readdirSync(runsDir);
  removeLeftoverDeletions(runsDir, names);
  removeLeftoverTemps(runsDir, names);
  const present = new Set(names.filter(isRunName));
  for (const id of present) {
    const known = entries.get(id);
    if (known?.child) {
      // A training run's worker writes where it is (epoch, checkpoint) and the configuration it
      // trains with (a fine-tune's network is its checkpoint's); its progress is fresher here.
      if (isSelfReporting(known)) {
        const disk = readDiskRun(known.runDir);
        if (disk && isActive(disk.status.state)) {
          const progress = known.status.progress ?? disk.status.progress;
          known.status = { ...disk.status, state: 'running', ...(progress ? { progress } : {}) };
          if (disk.config) known.params = disk.config.params;
        }
      }
      continue;
    }
    if (known?.adopted && known.status.state === 'queued') continue;
    const runDir = path.join(runsDir, id);
    const time = statusTime(runDir);
    // A process that dies says nothing: whether it lives is asked of its lock at every look.
    const unchanged = known !== undefined && known.statusTime === time;
    if (
      time === undefined ||
      (unchanged && !(known.status.state === 'running' && runLockHolder(runDir) === undefined))
    )
      continue;
    const disk = readDiskRun(runDir);
    if (disk === undefined) continue;
    const entry = known ?? fromDisk(runDir, disk);
    const wasActive = known !== undefined && isActive(known.status.state);
    entry.status = disk.status;
    entry.statusTime = time;
    if (runLockHolder(runDir) === undefined && !starting(disk.status)) {
      if (disk.status.state === 'running') {
        entry.status = interrupted(disk.status);
        hooks.writeStatus(entry);
      }
      // What writes cut short left in a folder no live process works in.
      removeLeftoverTemps(runDir);
      removeLeftoverTemps(path.join(runDir, 'checkpoints'));
    }
    if (entry.status.state === 'succeeded') entry.result = readRunResult(runDir);
    entries.set(id, entry);
    if (wasActive && !isActive(entry.status.state)) hooks.ended(id, entry);
  }
  for (const [id, entry] of entries) if (!present.has(id) && !entry.child) entries.delete(id);
}
