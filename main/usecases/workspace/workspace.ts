/**
 * The workspace: where the demo data, the imported checkpoint and every job's run directory live.
 * ~/.gabn-studio/demo by default (or $GABN_WORKSPACE): outside the checkout, so a fresh clone or
 * `git clean` never loses runs, and every clone on the machine shares one demo.
 */
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHECKPOINT_JSON } from '../../models/checkpoint-schema.ts';

export function defaultWorkspace(): string {
  return process.env.GABN_WORKSPACE ?? path.join(os.homedir(), '.gabn-studio', 'demo');
}

/** Checkpoints and datasets found in a workspace laid out by `gabn start`. */
export function discoverWorkspace(workspace: string): { checkpoints: string[]; datasets: string[] } {
  const checkpoints: string[] = [];
  for (const folder of [workspace, path.join(workspace, 'checkpoints')]) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) {
      if (name.endsWith('.gabn') && existsSync(path.join(folder, name, CHECKPOINT_JSON))) {
        checkpoints.push(path.join(folder, name));
      }
    }
  }
  const datasets = [path.join(workspace, 'synthetic', 'rfw')].filter((d) => existsSync(d));
  return { checkpoints, datasets };
}
