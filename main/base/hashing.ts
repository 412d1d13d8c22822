/** SHA-256 in hex: what reports, caches and ids name their inputs by. */
import { createHash } from 'node:crypto';

export function sha256Hex(...parts: readonly (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}
