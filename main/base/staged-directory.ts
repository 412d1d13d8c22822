/**
 * A whole folder or nothing: the work writes into a hidden staging folder beside the target,
 * `.name.partial-<pid>-<random>`, which is renamed over the target only when the work succeeds and
 * removed when it fails or is cancelled. So an interrupted job never leaves a folder that looks
 * finished, and a reader of the target sees the old folder or the complete new one, never a mix.
 * Checkpoints, synthetic datasets and the demo workspace's copies are all written this way.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GabnError } from './errors.ts';

export interface StagedDirectoryOptions {
  /**
   * What to do when the target exists: 'replace' it, or 'refuse' unless it is empty (the default:
   * an output folder named by the user is never overwritten by surprise).
   */
  readonly existing?: 'replace' | 'refuse';
  /** Flush every file and the folders to disk before the rename (checkpoints: durable on power loss). */
  readonly durable?: boolean;
  /**
   * Runs once the new content is complete, before anything existing is touched (callers check there
   * that the old target may be replaced).
   */
  readonly beforeReplace?: () => Promise<void>;
}

/** fsync a folder so that the renames inside it are durable; not possible on every platform. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open a folder for fsync; its renames are journaled by NTFS.
  } finally {
    await handle?.close();
  }
}

async function syncFiles(dir: string): Promise<void> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await syncFiles(full);
      continue;
    }
    const handle = await open(full, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  await syncDirectory(dir);
}

export async function withStagedDirectory<T>(
  target: string,
  options: StagedDirectoryOptions,
  work: (staging: string) => Promise<T>,
): Promise<T> {
  const resolved = path.resolve(target);
  if (
    (options.existing ?? 'refuse') === 'refuse' &&
    existsSync(resolved) &&
    readdirSync(resolved).length > 0
  ) {
    throw new GabnError('usage', 'the output folder exists and is not empty', {
      file: target,
      expected: 'a new folder, or --force to replace it',
    });
  }
  const parent = path.dirname(resolved);
  const base = path.basename(resolved);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = path.join(parent, `.${base}.partial-${tag}`);
  await mkdir(staging, { recursive: true });
  let result: T;
  let aside: string | undefined;
  try {
    result = await work(staging);
    if (options.durable) await syncFiles(staging);
    await options.beforeReplace?.();
    if (existsSync(resolved)) {
      aside = path.join(parent, `.${base}.old-${tag}`);
      await rename(resolved, aside);
    }
    try {
      await rename(staging, resolved);
    } catch (error) {
      if (aside !== undefined) await rename(aside, resolved);
      aside = undefined;
      throw error;
    }
    if (options.durable) await syncDirectory(parent);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  if (aside !== undefined) await rm(aside, { recursive: true, force: true });
  return result;
}

/**
 * Writes `files` (name → bytes) as the whole content of folder `target`, durably, replacing what was
 * there (`beforeReplace` may refuse first).
 */
export async function writeDirectoryAtomically(
  target: string,
  files: ReadonlyMap<string, Uint8Array>,
  beforeReplace?: () => Promise<void>,
): Promise<void> {
  await withStagedDirectory(
    target,
    { existing: 'replace', durable: true, ...(beforeReplace ? { beforeReplace } : {}) },
    async (staging) => {
      for (const [name, data] of files) await writeFile(path.join(staging, name), data);
    },
  );
}
