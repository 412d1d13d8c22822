/**
 * Writes a whole output folder or nothing: the work happens in `<target>.partial-<pid>`, which is
 * renamed over the target only when the work succeeds and removed when it fails or is cancelled, so
 * an interrupted job never leaves a folder that looks finished.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../errors.ts';

export async function withStagedDirectory<T>(
  target: string,
  options: { force?: boolean },
  work: (staging: string) => Promise<T>,
): Promise<T> {
  const resolved = path.resolve(target);
  if (existsSync(resolved) && readdirSync(resolved).length > 0 && !options.force) {
    throw new GabnError('usage', 'the output folder exists and is not empty', {
      file: target,
      expected: 'a new folder, or --force to replace it',
    });
  }
  const staging = `${resolved}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  let result: T;
  try {
    result = await work(staging);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  if (existsSync(resolved)) {
    const aside = `${resolved}.old-${process.pid}`;
    renameSync(resolved, aside);
    renameSync(staging, resolved);
    rmSync(aside, { recursive: true, force: true });
  } else {
    mkdirSync(path.dirname(resolved), { recursive: true });
    renameSync(staging, resolved);
  }
  return result;
}
