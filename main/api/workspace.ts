/**
 * The workspace: where the demo data, the imported checkpoint and every job's run directory live.
 * ~/.gabn-studio/demo by default (or $GABN_WORKSPACE): outside the checkout, so a fresh clone or
 * `git clean` never loses runs, and every clone on the machine shares one demo.
 */
import os from 'node:os';
import path from 'node:path';

export function defaultWorkspace(): string {
  return process.env.GABN_WORKSPACE ?? path.join(os.homedir(), '.gabn-studio', 'demo');
}
