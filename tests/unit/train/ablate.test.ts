/**
 * `gabn ablate` on a tiny network and a small synthetic set: every preset trained into its run folder,
 * every final checkpoint audited on the same pairs, one side-by-side report; run again, it reuses the
 * runs instead of training them again.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../../../main/data/synth/generate.ts';
import { makeTinyTrainingSet } from './tiny-training-set.ts';

let root: string;
let configFile: string;
let data: string;
let val: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'gabn-ablate-'));
  ({ data, val } = await makeTinyTrainingSet(root));
  configFile = path.join(root, 'tiny16.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      model: { depth: 18, width: 0.125, inputSize: 16, embeddingSize: 16 },
      discriminator: { width: 0.125 },
      epochs: 1,
      batchSize: 8,
      microBatchSize: 0,
      erase: { count: 2, maxHeight: 4, maxWidth: 4 },
      optimizer: { learningRate: 0.01, milestones: [1] },
    }),
  );
});

function ablate(out: string, extra: string[] = []) {
  return spawnSync(
    process.execPath,
    [
      'bin/gabn.js',
      'ablate',
      '--data',
      data,
      '--val',
      val,
      '--out',
      out,
      '--presets',
      'baseline,gam-sfre',
      '--config',
      configFile,
      '--bootstrap',
      '50',
      ...extra,
    ],
    { encoding: 'utf8', env: { ...process.env, GABN_BACKEND: 'wasm' } },
  );
}

describe('gabn ablate', () => {
  it('trains each preset, audits each on the same pairs and writes the side-by-side report', () => {
    const out = path.join(root, 'ablation');
    const first = ablate(out);
    expect(first.status, first.stderr).toBe(0);
    for (const run of ['baseline-seed1', 'gam-sfre-seed1']) {
      expect(JSON.parse(readFileSync(path.join(out, run, 'status.json'), 'utf8')).state).toBe('succeeded');
    }
    const figures = JSON.parse(readFileSync(path.join(out, 'ablation.json'), 'utf8'));
    expect(figures.labels).toEqual(['baseline (seed 1)', 'gam-sfre (seed 1)']);
    expect(figures.rows.map((r: { checkpoint: string }) => r.checkpoint)).toEqual([
      path.join('baseline-seed1', 'checkpoints', 'epoch-1.gabn'),
      path.join('gam-sfre-seed1', 'checkpoints', 'epoch-1.gabn'),
    ]);
    expect(figures.reports).toHaveLength(2);
    for (const [k, row] of figures.rows.entries()) {
      // The row's figures are its report's, with intervals.
      expect(row.std).toEqual(figures.reports[k].overall.std);
      expect(row.std.interval.lower).toBeLessThanOrEqual(row.std.value);
      expect(Object.keys(row.groups)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
      // Its mechanism figures are those of its run's last epoch; neither preset has a discriminator.
      const epochs = readFileSync(path.join(out, row.checkpoint.split(path.sep)[0], 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .filter((r) => r.type === 'epoch');
      expect(row.mechanisms).toEqual(epochs.at(-1).mechanisms);
      expect(row.mechanisms.discriminatorAccuracy).toBeNull();
      expect(Object.keys(row.mechanisms.groups)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
    }
    const html = readFileSync(path.join(out, 'ablation.html'), 'utf8');
    expect(html).toContain('baseline (seed 1)');
    expect(html).toContain('gam-sfre (seed 1)');
    expect(html).toContain('<caption>Mechanism figures of each run');
    for (const column of [
      'discriminator accuracy',
      'mass fraction group-a',
      'GAM distance',
      'confidence group-d',
      'confidence gap',
    ])
      expect(html).toContain(`<th scope="col">${column}</th>`);
    const { gamDistance: distanceValue, gamDistanceInterval: distanceInterval } = figures.rows[0].mechanisms;
    const gamDistance = distanceValue.toFixed(3);
    const distanceBounds = `[${distanceInterval.lower.toFixed(3)}, ${distanceInterval.upper.toFixed(3)}]`;
    expect(html).toContain(`<td>${gamDistance} ${distanceBounds}</td>`);
    expect(first.stdout).toMatch(/baseline\s+seed 1\s+Avg \d+\.\d\d\s+STD/);
    expect(first.stdout).toContain(`no discriminator; lowest mass fraction 0.`);
    expect(first.stdout).toContain(`GAM distance ${gamDistance} ${distanceBounds}`);

    // Again: the completed runs are reused, not trained again.
    const again = ablate(out);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('baseline (seed 1): already trained');
    expect(existsSync(path.join(out, 'ablation.html'))).toBe(true);
  });

  it('audits every run on each further test set as gabn audit does, and averages each preset over them', async () => {
    const other = path.join(root, 'other');
    await generateSyntheticDataset(
      other,
      { ...DEFAULT_SYNTH, seed: 6, ids: 20, images: 2, trainIds: 0, size: 32 },
      { force: true },
    );
    const out = path.join(root, 'ablation');
    const result = ablate(out, ['--test', path.join(other, 'rfw')]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('baseline (seed 1): already trained');
    expect(result.stdout).toContain(`on ${path.join(other, 'rfw')}:`);
    const figures = JSON.parse(readFileSync(path.join(out, 'ablation.json'), 'utf8'));
    expect(figures.tests).toHaveLength(1);
    expect(figures.tests[0].data).toBe(path.join(other, 'rfw'));
    for (const [k, row] of figures.tests[0].rows.entries()) {
      expect(row.checkpoint).toBe(figures.rows[k].checkpoint);
      const report = path.join(root, `other-${k}.json`);
      const audit = spawnSync(
        process.execPath,
        [
          'bin/gabn.js',
          'audit',
          '--checkpoint',
          path.join(out, row.checkpoint),
          '--data',
          path.join(other, 'rfw'),
          '--bootstrap',
          '50',
          '--out',
          report,
        ],
        { encoding: 'utf8', env: { ...process.env, GABN_BACKEND: 'wasm' } },
      );
      expect(audit.status, audit.stderr).toBe(0);
      const alone = JSON.parse(readFileSync(report, 'utf8'));
      expect(row.std).toEqual(alone.overall.std);
      expect(row.average).toEqual(alone.overall.average);
      expect(Object.values(row.groups)).toEqual(alone.groups.map((g: { accuracy: unknown }) => g.accuracy));
    }
    const html = readFileSync(path.join(out, 'ablation.html'), 'utf8');
    expect(html).toContain(`<caption>On ${path.join(other, 'rfw')}: accuracy (%)`);
    // The mean over the two test sets, by hand.
    const mean = (figures.rows[0].std.value + figures.tests[0].rows[0].std.value) / 2;
    expect(html).toMatch(
      new RegExp(`<th scope="row">baseline</th><td>1</td><td>[\\d.]+</td><td>${mean.toFixed(2)}</td>`),
    );
  });

  it('with --from, fine-tunes every run from the same checkpoint', () => {
    const start = path.join(root, 'ablation', 'baseline-seed1', 'checkpoints', 'epoch-1.gabn');
    const out = path.join(root, 'fine-tune-ablation');
    const result = ablate(out, ['--from', start, '--presets', 'baseline,gam-ct']);
    expect(result.status, result.stderr).toBe(0);
    for (const run of ['baseline-seed1', 'gam-ct-seed1']) {
      const config = JSON.parse(readFileSync(path.join(out, run, 'config.json'), 'utf8'));
      expect(config.params.from).toBe(start);
      expect(readFileSync(path.join(out, run, 'log.txt'), 'utf8')).toContain(`from ${start}`);
    }
    expect(JSON.parse(readFileSync(path.join(out, 'ablation.json'), 'utf8')).labels).toEqual([
      'baseline (seed 1)',
      'gam-ct (seed 1)',
    ]);
  });

  it('refuses a further test set it cannot read before training anything', () => {
    const out = path.join(root, 'no-test-set');
    const missing = path.join(root, 'missing-test-set');
    const result = ablate(out, ['--test', missing]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(missing);
    expect(existsSync(path.join(out, 'baseline-seed1'))).toBe(false);
  });

  it('refuses an unknown preset before training anything', () => {
    const out = path.join(root, 'refused');
    const result = spawnSync(
      process.execPath,
      ['bin/gabn.js', 'ablate', '--data', 'x', '--val', 'y', '--out', out, '--presets', 'baseline,nope'],
      { encoding: 'utf8' },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("'nope' is not a preset the ablation trains");
    expect(existsSync(out)).toBe(false);
  });
});
