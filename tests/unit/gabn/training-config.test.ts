import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NAMED_CONFIGS, PRESETS, resolveTrainingConfig } from '../../../main/gabn/presets.ts';
import {
  CONFIG_KEYS,
  configFields,
  parseOverride,
  validateConfig,
} from '../../../main/gabn/training-config.ts';

describe('training configuration', () => {
  it('every named configuration and preset is valid', () => {
    for (const name of Object.keys(NAMED_CONFIGS)) {
      for (const preset of Object.keys(PRESETS)) {
        expect(() => resolveTrainingConfig({ preset, config: name })).not.toThrow();
      }
    }
  });
  it("the paper configuration is §4.1's setting", () => {
    const c = resolveTrainingConfig({ preset: 'gabn', config: 'paper' });
    expect(c.model.depth).toBe(34);
    expect(c.optimizer).toEqual({
      learningRate: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      milestones: [9, 15, 20],
      decay: 0.1,
    });
    expect(c.epochs).toBe(30);
    expect(c.batchSize).toBe(200);
    expect(c.margin).toEqual({ kind: 'arcface', s: 64, m: 0.35 });
    expect(c.confidence.threshold).toBe(0.7);
    expect(c.modules).toEqual({ gamCt: true, sfre: true, randomErase: false, confidenceBalance: true });
  });
  it('presets switch exactly their modules', () => {
    expect(resolveTrainingConfig({ preset: 'baseline' }).modules).toEqual({
      gamCt: false,
      sfre: false,
      randomErase: false,
      confidenceBalance: false,
    });
    expect(resolveTrainingConfig({ preset: 'random-erase' }).modules.randomErase).toBe(true);
    expect(resolveTrainingConfig({ preset: 'fine-tune' }).optimizer.learningRate).toBe(0.01);
  });
  it('--set overrides any key, parsed as JSON where it can be', () => {
    const c = resolveTrainingConfig({
      preset: 'gabn',
      config: 'tiny',
      overrides: ['optimizer.learningRate=0.02', 'margin.kind=cosface', 'optimizer.milestones=[1,2]'],
    });
    expect(c.optimizer.learningRate).toBe(0.02);
    expect(c.margin.kind).toBe('cosface');
    expect(c.optimizer.milestones).toEqual([1, 2]);
  });
  it('describes every setting for the form, those with a default by the check they wrap', () => {
    const fields = configFields();
    for (const field of fields) expect(field.expected, field.key).not.toBe('');
    const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));
    expect(byKey['erase.centres']).toEqual({
      key: 'erase.centres',
      kind: 'choice',
      expected: 'one of raw, smoothed',
      choices: ['raw', 'smoothed'],
    });
    expect(byKey.mechanismProbes).toEqual({
      key: 'mechanismProbes',
      kind: 'number',
      expected: 'an integer in [0, 1000]',
    });
    expect(fields.map((f) => f.key)).toEqual(CONFIG_KEYS);
  });

  it('refuses an unknown key, naming it', () => {
    expect(() => parseOverride('optimizer.lr=0.1')).toThrow(/unknown key 'optimizer.lr'/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-config-'));
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ optimizer: { lr: 0.1 } }));
    expect(() => resolveTrainingConfig({ preset: 'baseline', config: file })).toThrow(
      /unknown key 'optimizer.lr'/,
    );
  });
  it('refuses out-of-range values, saying what is allowed, all at once', () => {
    const paper = NAMED_CONFIGS.paper!;
    const bad = {
      ...paper,
      epochs: 0,
      confidence: { threshold: 1.5, lambda: 1 },
      model: { ...paper.model, depth: 20 },
    };
    let message = '';
    try {
      validateConfig(bad, 'test');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/epochs is 0 \(expected an integer in \[1, 10000\]\)/);
    expect(message).toMatch(/confidence.threshold is 1.5 \(expected a number in \[0, 1\]\)/);
    expect(message).toMatch(/model.depth is 20 \(expected one of 18, 34, 50, 100, 200\)/);
  });
  it('refuses non-increasing milestones, contradictory modules and a micro-batch above the batch', () => {
    expect(() =>
      resolveTrainingConfig({ preset: 'baseline', overrides: ['optimizer.milestones=[9,5]'] }),
    ).toThrow(/milestones/);
    expect(() =>
      resolveTrainingConfig({ preset: 'gam-sfre', overrides: ['modules.randomErase=true'] }),
    ).toThrow(/exclude each other/);
    expect(() => resolveTrainingConfig({ preset: 'baseline', overrides: ['microBatchSize=500'] })).toThrow(
      /exceeds batchSize/,
    );
  });
  it('names unknown presets and configurations with the valid choices', () => {
    expect(() => resolveTrainingConfig({ preset: 'nope' })).toThrow(
      /baseline, random-erase, confidence, gam-ct, gam-sfre, gabn, fine-tune/,
    );
    expect(() => resolveTrainingConfig({ preset: 'gabn', config: 'huge' })).toThrow(/paper, small, tiny/);
  });
  it('a configuration file that is not JSON is a malformed-file error naming it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-config-'));
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ epochs: 3 ');
    expect(() => resolveTrainingConfig({ preset: 'baseline', config: file })).toThrow(
      new RegExp(`${file.replace(/[.]/g, '\\.')}.*not valid JSON`),
    );
  });
});
