/**
 * Writes a file so that readers see either the old file or the complete new one, never a partial
 * report: the bytes go to a temporary file in the same folder, which is then renamed over the target.
 */
import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GabnError } from '../errors.ts';

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (cause) {
    await unlink(temp).catch(() => {});
    throw new GabnError('missing-file', 'cannot write the report', {
      file,
      expected: 'a writable folder',
      cause,
    });
  }
}
