/**
 * A run folder belongs to one live process: `run.lock` names it (pid, host, the process's start
 * time). A second trainer, a `--resume` while the run is alive, or a job started twice is refused
 * with who holds the folder; a lock whose process is gone (a crash, a killed machine) is stale and
 * taken over. The process's start time guards against a recycled pid: on Linux it is compared with
 * the kernel's record of the process under that pid.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { isProcessAlive } from '../base/processes.ts';
import { type RunStatus, readRunStatus } from './run-folder.ts';

export const LOCK_FILE = 'run.lock';

export interface RunLockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** When the holding process started, ms since the epoch. */
  readonly processStartedAt: number;
  /** When it took the lock, ISO 8601. */
  readonly acquiredAt: string;
  /** What it is doing, for the message a second process gets. */
  readonly purpose: string;
}

export interface RunLock {
  readonly holder: RunLockHolder;
  release(): void;
}

/** This process's start time: now minus its uptime. */
function ownStartTime(): number {
  return Date.now() - process.uptime() * 1000;
}

/** Start time of process `pid` from /proc (Linux), ms since the epoch; undefined elsewhere. */
function linuxStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!Number.isFinite(startTicks) || btime === null) return undefined;
    // USER_HZ is 100 on every Linux that Node runs on.
    return Number(btime[1]) * 1000 + startTicks * 10;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `holder` still runs. A holder on another machine counts as alive. */
export function isHolderAlive(holder: RunLockHolder): boolean {
  if (holder.hostname !== os.hostname()) return true;
  if (!isProcessAlive(holder.pid)) return false;
  const started = linuxStartTime(holder.pid);
  // Another process under a recycled pid started later than the holder did.
  return started === undefined || Math.abs(started - holder.processStartedAt) < 2000;
}

function readHolder(file: string): RunLockHolder | undefined {
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunLockHolder>;
    if (typeof json.pid !== 'number' || typeof json.hostname !== 'string') return undefined;
    return {
      pid: json.pid,
      hostname: json.hostname,
      processStartedAt: Number(json.processStartedAt),
      acquiredAt: String(json.acquiredAt),
      purpose: String(json.purpose ?? 'working on the run'),
    };
  } catch {
    // Absent, or cut short while being written (its writer died at once: stale).
    return undefined;
  }
}

/** The live process holding the folder, or undefined when none does. */
export function runLockHolder(dir: string): RunLockHolder | undefined {
  const holder = readHolder(path.join(dir, LOCK_FILE));
  return holder !== undefined && isHolderAlive(holder) ? holder : undefined;
}

/** Who holds a run folder, in words: "process 123 (training, since …)". */
export function describeHolder(holder: RunLockHolder): string {
  const where = holder.hostname === os.hostname() ? '' : ` on ${holder.hostname}`;
  return `process ${holder.pid}${where} (${holder.purpose}, since ${holder.acquiredAt})`;
}

/** Takes the folder for this process, or throws GabnError('busy') naming the live holder. */
export function acquireRunLock(dir: string, purpose: string): RunLock {
  const file = path.join(dir, LOCK_FILE);
  const holder: RunLockHolder = {
    pid: process.pid,
    hostname: os.hostname(),
    processStartedAt: ownStartTime(),
    acquiredAt: new Date().toISOString(),
    purpose,
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(holder)}\n`, { flag: 'wx' });
      return {
        holder,
        release() {
          // Only our own lock: a process that took over a lock we lost must keep it.
          if (readHolder(file)?.pid === process.pid) unlinkSync(file);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new GabnError('missing-file', `cannot lock the run folder: ${(error as Error).message}`, {
          file,
          expected: 'a writable run folder',
        });
      }
      const current = readHolder(file);
      if (current !== undefined && current.pid === process.pid && current.hostname === holder.hostname) {
        throw new GabnError('busy', 'this process already works in the run folder', { file });
      }
      if (current !== undefined && isHolderAlive(current)) {
        throw new GabnError('busy', `the run folder is in use by ${describeHolder(current)}`, {
          file: dir,
          expected: 'that process to finish, or to be stopped first',
        });
      }
      // Stale: its process is gone. Remove it and try once more (a racing process then finds ours).
      try {
        unlinkSync(file);
      } catch {
        // removed by the racing process
      }
    }
  }
  throw new GabnError('busy', 'another process took the run folder at the same moment', { file: dir });
}

/** What a run left running by a process that is gone reads as. */
export function interrupted(status: RunStatus): RunStatus {
  const { pid: _pid, ...rest } = status;
  const resume = status.training?.checkpoint
    ? `; it can resume from ${status.training.checkpoint}`
    : status.kind === 'train'
      ? '; it saved no checkpoint yet and can start again'
      : '';
  return {
    ...rest,
    state: 'interrupted',
    finishedAt: new Date().toISOString(),
    error: `interrupted: the process running it stopped before it finished (state was ${status.state})${resume}`,
  };
}

/**
 * The run's status as it stands now: one whose status.json says running while no live process
 * holds its folder reads as interrupted (its process died without saying so); a queued one waits
 * for a queue to start it. Read only: status.json is not rewritten.
 */
export function currentRunStatus(dir: string): RunStatus | undefined {
  const status = readRunStatus(dir);
  if (status === undefined || status.state !== 'running' || runLockHolder(dir) !== undefined) return status;
  return interrupted(status);
}
