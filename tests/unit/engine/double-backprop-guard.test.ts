import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// tfjs ops built on customGrad save their own output in a hand-written gradient: a second backward
// pass cannot see through them (see main/engine/ops.ts). Keep them out of the engine's users.
// tf.oneHot with a float dtype returns integer bit patterns on the wasm backend (1 reads as 1.4e-45):
// build an int32 one-hot and cast it.
const FORBIDDEN = [
  /\btf\.logSoftmax\(/,
  /\btf\.losses\./,
  /\btf\.logSigmoid\(/,
  /\btf\.fused\./,
  /\btf\.oneHot\([^()]*(\([^()]*\)[^()]*)*'float32'\s*\)/,
];
const ALLOWED_FILES = new Set(['main/engine/ops.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

describe('engine guard', () => {
  it('main/ uses no tfjs op whose gradient hides a second-order path, nor a float oneHot', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles('main')) {
      if (ALLOWED_FILES.has(file.split(path.sep).join('/'))) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (!line.trim().startsWith('*') && FORBIDDEN.some((pattern) => pattern.test(line))) {
            offenders.push(`${file}:${i + 1}: ${line.trim()}`);
          }
        });
    }
    expect(offenders).toEqual([]);
  });
});
