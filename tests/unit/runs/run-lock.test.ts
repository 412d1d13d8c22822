import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { acquireRunLock, LOCK_FILE, runLockHolder } from '../../../main/runs/run-lock.ts';

const folder = () => mkdtempSync(path.join(os.tmpdir(), 'gabn-lock-'));

async function failure(fn: () => unknown): Promise<GabnError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof GabnError) return error;
    throw error;
  }
  throw new Error('expected a GabnError');
}

describe('the run lock', () => {
  it('holds the folder for this process, and lets it go', async () => {
    const dir = folder();
    const lock = acquireRunLock(dir, 'training');
    expect(runLockHolder(dir)).toMatchObject({ pid: process.pid, purpose: 'training' });
    expect((await failure(() => acquireRunLock(dir, 'training'))).kind).toBe('busy');
    lock.release();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    expect(runLockHolder(dir)).toBeUndefined();
    acquireRunLock(dir, 'again').release();
  });

  it('refuses a second process while the first lives, naming it; takes over once it is gone', async () => {
    const dir = folder();
    // Another process takes the lock and holds it until killed.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('${path.resolve('main/runs/run-lock.ts')}').then((m) => { m.acquireRunLock(${JSON.stringify(dir)}, 'a test trainer'); console.log('held'); setInterval(() => {}, 1000); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const busy = await failure(() => acquireRunLock(dir, 'training'));
    expect(busy.kind).toBe('busy');
    expect(busy.message).toContain(`process ${child.pid}`);
    expect(busy.message).toContain('a test trainer');
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // Its lock file stays, but its process is gone: the lock is stale.
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    expect(runLockHolder(dir)).toBeUndefined();
    const lock = acquireRunLock(dir, 'training');
    expect(runLockHolder(dir)?.pid).toBe(process.pid);
    lock.release();
  });

  it('a live pid that started after the holder did is another process: the lock is stale', () => {
    const dir = folder();
    // This process's pid, with a start time ten minutes before its own: a recycled pid.
    const holder = {
      pid: process.pid,
      hostname: os.hostname(),
      processStartedAt: Date.now() - process.uptime() * 1000 - 600_000,
      acquiredAt: new Date().toISOString(),
      purpose: 'a trainer long gone',
    };
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(holder));
    if (process.platform === 'linux') expect(runLockHolder(dir)).toBeUndefined();
    // A lock file cut short by a crash is stale too.
    writeFileSync(path.join(dir, LOCK_FILE), '{"pid": 12');
    expect(runLockHolder(dir)).toBeUndefined();
    acquireRunLock(dir, 'training').release();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });
});
