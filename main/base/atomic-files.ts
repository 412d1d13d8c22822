/**
 * Every file the project writes for others to read (reports, run status, checkpoints, embeddings,
 * datasets) is written so that a reader sees the old content or the whole new one, never half a
 * file: the bytes go to a temporary file in the same folder, which is then renamed over the target
 * (a rename within one file system is atomic). A write cut short by a crash leaves only a temporary
 * file, whose name `isLeftoverTemp` recognises so the next start can remove it.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GabnError } from './errors.ts';
import { isProcessAlive } from './processes.ts';

/** `.name.<pid>.<random>.tmp` beside the target. */
function tempNameFor(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

/** Temporary names of atomic files (`.x.123.ab12cd34.tmp`) and staged folders (`.x.partial-…`, `.x.old-…`). */
const LEFTOVER = /^\..+\.(?:[0-9]+\.[0-9a-f]{8}\.tmp|(?:partial|old)-[0-9]+-[0-9a-f]{8})$/;

/** Whether `name` (a file or folder name, not a path) is what an interrupted atomic write leaves. */
export function isLeftoverTemp(name: string): boolean {
  return LEFTOVER.test(name);
}

function writeError(file: string, cause: unknown): GabnError {
  return new GabnError('missing-file', `cannot write the file: ${(cause as Error).message ?? cause}`, {
    file,
    expected: 'a writable folder',
    cause,
  });
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = tempNameFor(file);
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (cause) {
    await unlink(temp).catch(() => {});
    throw writeError(file, cause);
  }
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const temp = tempNameFor(file);
  try {
    writeFileSync(temp, data);
    renameSync(temp, file);
  } catch (cause) {
    try {
      unlinkSync(temp);
    } catch {
      // never created
    }
    throw writeError(file, cause);
  }
}

/** JSON, indented (NaN and ±Infinity become null, as JSON.stringify writes them). */
export function writeJsonAtomicSync(file: string, value: unknown): void {
  writeFileAtomicSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** The process that is (or was) writing the temporary `name`: its pid is part of the name. */
function writerOf(name: string): number | undefined {
  const m = /\.(?:([0-9]+)\.[0-9a-f]{8}\.tmp|(?:partial|old)-([0-9]+)-[0-9a-f]{8})$/.exec(name);
  return m === null ? undefined : Number(m[1] ?? m[2]);
}

/**
 * Removes what interrupted atomic writes left in `dir` (not recursive): temporaries whose writing
 * process is gone (one still alive, this one included, may be writing it now, so it is left alone). Returns the names
 * removed; a folder that cannot be read has none.
 */
export function removeLeftoverTemps(dir: string, names?: readonly string[]): string[] {
  let listed: readonly string[];
  try {
    listed = names ?? readdirSync(dir);
  } catch {
    return [];
  }
  const removed = listed.filter((name) => {
    if (!isLeftoverTemp(name)) return false;
    const writer = writerOf(name);
    return writer === undefined || !isProcessAlive(writer);
  });
  for (const name of removed) rmSync(path.join(dir, name), { recursive: true, force: true });
  return removed;
}
