import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  appendMetrics,
  createRunFolder,
  readMetrics,
  readRunConfig,
  readRunStatus,
  truncateMetrics,
  writeRunStatus,
} from '../../../main/runs/run-folder.ts';

const folder = () => mkdtempSync(path.join(os.tmpdir(), 'gabn-run-'));

describe('the run folder', () => {
  it('writes and reads back config, status and metrics', () => {
    const dir = path.join(folder(), '20260101-000000-synth-abcdef');
    createRunFolder(dir, { kind: 'synth', params: { out: 'x' }, createdAt: '2026-01-01T00:00:00.000Z' });
    writeRunStatus(dir, {
      id: 'ignored',
      kind: 'synth',
      state: 'running',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(readRunConfig(dir)).toEqual({
      kind: 'synth',
      params: { out: 'x' },
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    const status = readRunStatus(dir)!;
    expect(status.id).toBe('20260101-000000-synth-abcdef');
    expect(status.state).toBe('running');
    expect(status.updatedAt).toMatch(/^\d{4}-/);
    appendMetrics(dir, { step: 1, loss: Number.NaN });
    appendMetrics(dir, { step: 2, loss: 0.5 });
    writeFileSync(
      path.join(dir, 'metrics.jsonl'),
      `${readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')}{"step":3,`,
    );
    expect(readMetrics(dir)).toEqual([
      { step: 1, loss: null },
      { step: 2, loss: 0.5 },
    ]);
    expect(truncateMetrics(dir, 1)).toBe(2);
    expect(readMetrics(dir)).toEqual([{ step: 1, loss: null }]);
  });

  it('reads the training run folders written before runs and jobs shared one layout', () => {
    const dir = folder();
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        kind: 'train',
        preset: 'gabn',
        config: {},
        data: '/d',
        command: 'gabn train',
        createdAt: 'T',
      }),
    );
    writeFileSync(
      path.join(dir, 'status.json'),
      JSON.stringify({
        state: 'completed',
        epoch: 2,
        step: 4,
        totalSteps: 4,
        stepsPerEpoch: 2,
        checkpoint: 'checkpoints/epoch-2.gabn',
        message: 'done',
        updatedAt: 'T',
      }),
    );
    expect(readRunConfig(dir)).toEqual({
      kind: 'train',
      createdAt: 'T',
      command: 'gabn train',
      params: { preset: 'gabn', config: {}, data: '/d' },
    });
    expect(readRunStatus(dir)).toMatchObject({
      kind: 'train',
      state: 'succeeded',
      progress: { done: 4, total: 4 },
      training: { epoch: 2, stepsPerEpoch: 2, checkpoint: 'checkpoints/epoch-2.gabn' },
    });
  });

  it('names the file and what was expected when a run file is broken', () => {
    const dir = folder();
    expect(readRunStatus(dir)).toBeUndefined();
    expect(() => readRunConfig(dir)).toThrow(/config.json cannot be read/);
    mkdirSync(path.join(dir, 'x'));
    writeFileSync(path.join(dir, 'config.json'), '{"kind": 3}');
    expect(() => readRunConfig(dir)).toThrow(/not a run configuration.*expected an object with kind/);
    writeFileSync(path.join(dir, 'status.json'), '{"state": "exploded"}');
    expect(() => readRunStatus(dir)).toThrow(/unknown run state 'exploded'/);
    writeFileSync(path.join(dir, 'status.json'), '{"state": ');
    expect(() => readRunStatus(dir)).toThrow(new RegExp(`${path.join(dir, 'status.json')}: not valid JSON`));
  });
});
