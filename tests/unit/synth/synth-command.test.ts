import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMix } from '../../../main/cli/synth.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'gabn-synth-cli-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('gabn synth', () => {
  it('parses a training mix in group order', () => {
    expect(parseMix('a:0.4,b:0.3,c:0.2,d:0.1')).toEqual([0.4, 0.3, 0.2, 0.1]);
    expect(parseMix('group-d:1')).toEqual([0, 0, 0, 1]);
    expect(() => parseMix('e:1')).toThrow(/'e:1' is not a group share/);
  });
  it('writes a dataset and says where', () => {
    const out = path.join(root, 'small');
    const run = spawnSync(
      process.execPath,
      [
        'bin/gabn.js',
        'synth',
        '--out',
        out,
        '--seed',
        '3',
        '--ids',
        '20',
        '--images',
        '2',
        '--train-ids',
        '4',
        '--train-images',
        '1',
        '--size',
        '48',
        '--train-mix',
        'a:1,b:1,c:1,d:1',
      ],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/wrote 164 images to/);
    expect(readdirSync(out).sort()).toEqual([
      'contact-sheet-group-a.png',
      'contact-sheet-group-b.png',
      'contact-sheet-group-c.png',
      'contact-sheet-group-d.png',
      'rfw',
      'synth.json',
      'train',
    ]);
  });
  it('stops cleanly on Ctrl-C and leaves no dataset, finished-looking or partial', async () => {
    const out = path.join(root, 'interrupted');
    const child = spawn(
      process.execPath,
      ['bin/gabn.js', 'synth', '--out', out, '--ids', '60', '--images', '10'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let interrupted = false;
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
      // One Ctrl-C: a second one means "quit at once".
      if (!interrupted && stderr.includes('rendering faces')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((n) => n.startsWith('interrupted'))).toEqual([]);
  });
});
