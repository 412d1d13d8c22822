/**
 * Replaces a directory so that a reader sees either the old one or the complete new one, never a
 * mix: everything is written into a temporary directory beside the target and flushed to disk, then
 * renamed over it (an existing target is first renamed aside, and removed once the new one is in place).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

async function writeFileSynced(file: string, data: Uint8Array): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory so that the renames inside it are durable; not possible on every platform. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open a directory for fsync; its renames are journaled by NTFS.
  } finally {
    await handle?.close();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `files` (name → bytes) as the whole content of directory `target`. `beforeReplace` runs
 * once the new content is on disk, before anything existing is touched (callers check that the old
 * target may be replaced there).
 */
export async function writeDirectoryAtomically(
  target: string,
  files: ReadonlyMap<string, Uint8Array>,
  beforeReplace?: () => Promise<void>,
): Promise<void> {
  const parent = path.dirname(path.resolve(target));
  const base = path.basename(target);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temp = path.join(parent, `.${base}.tmp-${tag}`);
  await mkdir(temp);
  let aside: string | undefined;
  try {
    for (const [name, data] of files) await writeFileSynced(path.join(temp, name), data);
    await syncDirectory(temp);
    await beforeReplace?.();
    if (await exists(target)) {
      aside = path.join(parent, `.${base}.old-${tag}`);
      await rename(target, aside);
    }
    try {
      await rename(temp, target);
    } catch (error) {
      if (aside !== undefined) await rename(aside, target);
      aside = undefined;
      throw error;
    }
    await syncDirectory(parent);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  if (aside !== undefined) await rm(aside, { recursive: true, force: true });
}
