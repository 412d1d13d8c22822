import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isLeftoverTemp,
  removeLeftoverTemps,
  writeFileAtomic,
  writeFileAtomicSync,
  writeJsonAtomicSync,
} from '../../../main/base/atomic-files.ts';
import { GabnError } from '../../../main/base/errors.ts';
import { withStagedDirectory, writeDirectoryAtomically } from '../../../main/base/staged-directory.ts';

const dir = () => mkdtempSync(path.join(os.tmpdir(), 'gabn-atomic-'));

describe('atomic files', () => {
  it('writes the whole file and leaves no temporary file', async () => {
    const d = dir();
    await writeFileAtomic(path.join(d, 'r.html'), 'new');
    writeFileAtomicSync(path.join(d, 'r.csv'), new Uint8Array([1, 2]));
    writeJsonAtomicSync(path.join(d, 's.json'), { a: Number.NaN, b: 1 });
    expect(readFileSync(path.join(d, 'r.html'), 'utf8')).toBe('new');
    expect(JSON.parse(readFileSync(path.join(d, 's.json'), 'utf8'))).toEqual({ a: null, b: 1 });
    expect(readdirSync(d).sort()).toEqual(['r.csv', 'r.html', 's.json']);
  });

  it('a write that fails names the file and leaves nothing behind', async () => {
    const d = dir();
    const target = path.join(d, 'missing-folder', 'r.json');
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(GabnError);
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(target);
    expect(() => writeFileAtomicSync(target, 'x')).toThrow(/cannot write the file/);
    expect(readdirSync(d)).toEqual([]);
  });

  it('recognises what interrupted writes leave, and removes only that', () => {
    expect(isLeftoverTemp('.report.html.1234.0a1b2c3d.tmp')).toBe(true);
    expect(isLeftoverTemp('.epoch-2.gabn.partial-77-deadbeef')).toBe(true);
    expect(isLeftoverTemp('.epoch-2.gabn.old-77-deadbeef')).toBe(true);
    expect(isLeftoverTemp('report.html')).toBe(false);
    expect(isLeftoverTemp('.hidden')).toBe(false);
    expect(isLeftoverTemp('epoch-2.gabn.partial-77-deadbeef')).toBe(false);
    const d = dir();
    // A writer that is gone: a process that has exited (pid 1 is always alive, so it cannot serve).
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(path.join(d, `.a.json.${gone}.00000000.tmp`), '{');
    mkdirSync(path.join(d, `.b.gabn.partial-${gone}-abcdef01`));
    writeFileSync(path.join(d, '.c.json.0.00000000.tmp'), '{');
    // A writer that lives (this process) may be writing its temporary now: it stays.
    writeFileSync(path.join(d, `.live.json.${process.pid}.00000000.tmp`), '{');
    writeFileSync(path.join(d, 'keep.json'), '{}');
    expect(removeLeftoverTemps(d, readdirSync(d)).sort()).toEqual([
      `.a.json.${gone}.00000000.tmp`,
      `.b.gabn.partial-${gone}-abcdef01`,
      '.c.json.0.00000000.tmp',
    ]);
    expect(readdirSync(d).sort()).toEqual([`.live.json.${process.pid}.00000000.tmp`, 'keep.json']);
  });
});

describe('staged folders', () => {
  it('a folder appears whole when the work succeeds, not at all when it fails', async () => {
    const d = dir();
    const out = path.join(d, 'out');
    await withStagedDirectory(out, {}, async (staging) => {
      writeFileSync(path.join(staging, 'a.txt'), 'a');
      expect(existsSync(out)).toBe(false);
    });
    expect(readdirSync(out)).toEqual(['a.txt']);
    const failed = path.join(d, 'failed');
    await expect(
      withStagedDirectory(failed, {}, async (staging) => {
        writeFileSync(path.join(staging, 'half.txt'), 'h');
        throw new Error('cut short');
      }),
    ).rejects.toThrow('cut short');
    expect(existsSync(failed)).toBe(false);
    expect(readdirSync(d).sort()).toEqual(['out']);
  });

  it('refuses a non-empty folder unless asked to replace it; beforeReplace can keep the old one', async () => {
    const d = dir();
    const out = path.join(d, 'out');
    mkdirSync(out);
    writeFileSync(path.join(out, 'old.txt'), 'old');
    await expect(withStagedDirectory(out, {}, async () => 1)).rejects.toThrow(/exists and is not empty/);
    await expect(
      writeDirectoryAtomically(out, new Map([['new.txt', new Uint8Array([1])]]), async () => {
        throw new GabnError('usage', 'not yours');
      }),
    ).rejects.toThrow('not yours');
    expect(readdirSync(out)).toEqual(['old.txt']);
    await writeDirectoryAtomically(out, new Map([['new.txt', new Uint8Array([1])]]));
    expect(readdirSync(out)).toEqual(['new.txt']);
    expect(readdirSync(d)).toEqual(['out']);
  });
});
