/**
 * Where a checkpoint is written: a `<name>.gabn` folder, written whole or not at all, that replaces
 * only another checkpoint and, for imports, only when asked (`--force`). Every writer of a checkpoint
 * (training, export, each importer) goes through here, so the rules and their messages are one.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { GabnError } from '../base/errors.ts';
import { writeDirectoryAtomically } from '../base/staged-directory.ts';
import { CHECKPOINT_JSON } from './checkpoint-schema.ts';

export interface CheckpointTargetOptions {
  /** Whether an existing checkpoint there may be replaced (anything else never is). */
  readonly replace: boolean;
}

function refuseExisting(dir: string): never {
  throw new GabnError('usage', `'${dir}' already exists`, {
    expected: 'a new path, or --force to replace it',
  });
}

/**
 * Refuses, before any work, a target that is not named `<name>.gabn` or that exists when it may
 * not be replaced. Checked again just before the folder is swapped in.
 */
export async function checkCheckpointTarget(dir: string, options: CheckpointTargetOptions): Promise<void> {
  if (path.extname(path.resolve(dir)) !== '.gabn') {
    throw new GabnError('usage', `a checkpoint directory must be named <name>.gabn, got '${dir}'`, {
      expected: 'a path ending in .gabn',
    });
  }
  if (!options.replace && (await stat(dir).catch(() => undefined)) !== undefined) refuseExisting(dir);
}

/** Writes `files` as the checkpoint folder `dir`, atomically, under the rules above. */
export async function writeCheckpointFolder(
  dir: string,
  files: ReadonlyMap<string, Uint8Array>,
  options: CheckpointTargetOptions,
): Promise<void> {
  await checkCheckpointTarget(dir, options);
  // Resolving drops a trailing separator, so `runs/a.gabn/` names the same directory as `runs/a.gabn`.
  const target = path.resolve(dir);
  await writeDirectoryAtomically(target, files, async () => {
    const existing = await stat(target).catch(() => undefined);
    if (existing === undefined) return;
    if (!options.replace) refuseExisting(dir);
    const isCheckpoint =
      existing.isDirectory() && (await stat(path.join(target, CHECKPOINT_JSON)).catch(() => undefined));
    if (!isCheckpoint) {
      throw new GabnError('usage', `'${dir}' exists and is not a GABN checkpoint: refusing to replace it`, {
        expected: 'a new path, or an existing <name>.gabn checkpoint directory',
      });
    }
  });
}
