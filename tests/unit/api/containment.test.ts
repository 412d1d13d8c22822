import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutsideError, resolveContained } from '../../../main/api/containment.ts';
import { GabnError } from '../../../main/base/errors.ts';
import { isInside } from '../../../main/base/paths.ts';

function setUp() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'gabn-contain-'));
  const root = path.join(base, 'dataset');
  mkdirSync(path.join(root, 'group-a'), { recursive: true });
  writeFileSync(path.join(root, 'group-a', 'face.jpg'), 'inside');
  writeFileSync(path.join(base, 'secret.txt'), 'outside');
  symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'link-out.jpg'));
  symlinkSync(path.join(root, 'group-a'), path.join(root, 'link-in'));
  // The root itself reached through a link: both sides are compared as real paths.
  symlinkSync(root, path.join(base, 'dataset-link'));
  return { base, root };
}

describe('path containment', () => {
  it('serves files inside a root, also through links that stay inside', () => {
    const { base, root } = setUp();
    expect(resolveContained([root], path.join(root, 'group-a', 'face.jpg'))).toBe(
      path.join(root, 'group-a', 'face.jpg'),
    );
    expect(resolveContained([root], 'group-a/face.jpg', root)).toBe(path.join(root, 'group-a', 'face.jpg'));
    expect(resolveContained([root], path.join(root, 'link-in', 'face.jpg'))).toBe(
      path.join(root, 'group-a', 'face.jpg'),
    );
    expect(resolveContained([path.join(base, 'dataset-link')], path.join(root, 'group-a', 'face.jpg'))).toBe(
      path.join(root, 'group-a', 'face.jpg'),
    );
  });

  it('refuses .., absolute paths outside and links that point outside', () => {
    const { base, root } = setUp();
    const attempts = [
      path.join(root, '..', 'secret.txt'),
      `${root}/group-a/../../secret.txt`,
      '../secret.txt',
      '/etc/passwd',
      path.join(base, 'secret.txt'),
      path.join(root, 'link-out.jpg'),
      `${root}-sibling/file`,
    ];
    for (const attempt of attempts) {
      expect(() => resolveContained([root], attempt, root), attempt).toThrow(OutsideError);
    }
  });

  it('says a missing file inside a root is missing, not forbidden', () => {
    const { root } = setUp();
    let error: unknown;
    try {
      resolveContained([root], path.join(root, 'nope.jpg'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GabnError);
    expect(error).not.toBeInstanceOf(OutsideError);
    expect((error as GabnError).kind).toBe('missing-file');
  });

  it('serves a real file whose name starts with two dots: only a .. segment leaves a root', () => {
    const { root } = setUp();
    writeFileSync(path.join(root, '..foo.txt'), 'inside');
    mkdirSync(path.join(root, '..dots'));
    writeFileSync(path.join(root, '..dots', 'x.jpg'), 'inside');
    expect(resolveContained([root], path.join(root, '..foo.txt'))).toBe(path.join(root, '..foo.txt'));
    expect(resolveContained([root], '..dots/x.jpg', root)).toBe(path.join(root, '..dots', 'x.jpg'));
    expect(() => resolveContained([root], '../dataset/../secret.txt', root)).toThrow(OutsideError);
    expect(isInside('/a/b', '/a/b/..c')).toBe(true);
    expect(isInside('/a/b', '/a/b/../c')).toBe(false);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a/b')).toBe(true);
  });
});
