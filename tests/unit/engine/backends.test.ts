import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { BACKEND_LADDER, explainNativeFailure, parseBackendName } from '../../../main/engine/backends.ts';

describe('backend names', () => {
  it('accepts every rung of the ladder', () => {
    for (const name of BACKEND_LADDER) expect(parseBackendName(name, 'test')).toBe(name);
  });
  it('refuses an unknown name and lists the valid ones', () => {
    expect(() => parseBackendName('nope', 'GABN_BACKEND')).toThrow(GabnError);
    expect(() => parseBackendName('nope', 'GABN_BACKEND')).toThrow(
      /tensorflow-gpu, tensorflow, webgpu, wasm, cpu/,
    );
  });
});

describe('native load failures are explained', () => {
  it('names the missing CUDA library and the versions tfjs-node-gpu needs', () => {
    const error = new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
    expect(explainNativeFailure('tensorflow-gpu', error)).toBe(
      'libcudart.so.11.0 not found: tfjs-node-gpu 4.x needs CUDA 11.2 and cuDNN 8.1',
    );
  });
  it('says when the optional package is absent', () => {
    const error = new Error("Cannot find module '@tensorflow/tfjs-node'\nRequire stack: ...");
    expect(explainNativeFailure('tensorflow', error)).toMatch(/not installed .*optional dependency/);
  });
  it('recognises a package whose native library is missing', () => {
    const error = new Error('The specified module could not be found. \\?\\C:\\x\\tfjs_binding.node');
    expect(explainNativeFailure('tensorflow', error)).toMatch(/native library is missing or broken/);
  });
});

function doctor(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['bin/gabn.js', 'doctor', '--json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('gabn doctor', () => {
  it('walks the ladder and keeps the reason of every unavailable rung', () => {
    const run = doctor({ GABN_BACKEND: '' });
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(BACKEND_LADDER).toContain(report.backend);
    expect(report.ladder.map((r: { name: string }) => r.name)).toEqual([...BACKEND_LADDER]);
    for (const rung of report.ladder) {
      if (rung.status === 'unavailable') expect(rung.reason.length).toBeGreaterThan(10);
    }
    expect(report.ladder.filter((r: { status: string }) => r.status === 'active')).toHaveLength(1);
    expect(report.gradientCorrections.length).toBeGreaterThan(10);
  });
  it('honours GABN_BACKEND', () => {
    const run = doctor({ GABN_BACKEND: 'cpu' });
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.backend).toBe('cpu');
    expect(report.why).toMatch(/GABN_BACKEND=cpu/);
  });
  it('refuses an unknown GABN_BACKEND, naming the valid backends', () => {
    const run = doctor({ GABN_BACKEND: 'nope' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/unknown backend 'nope'.*tensorflow-gpu, tensorflow, webgpu, wasm, cpu/);
  });
});
