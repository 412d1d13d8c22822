import { describe, expect, it } from 'vitest';
import { API_METHODS } from '../../../main/api/contract.ts';
import { isApiMethod, validateArgument } from '../../../main/api/validation.ts';
import { GabnError } from '../../../main/base/errors.ts';

function failure(fn: () => unknown): GabnError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GabnError) return error;
    throw error;
  }
  throw new Error('expected a GabnError');
}

describe('API argument validation', () => {
  it('knows every method of the contract and nothing else', () => {
    for (const m of API_METHODS) expect(isApiMethod(m)).toBe(true);
    expect(isApiMethod('constructor')).toBe(false);
    expect(isApiMethod('__proto__')).toBe(false);
    const e = failure(() => validateArgument('deleteEverything' as never, {}));
    expect(e.kind).toBe('usage');
    expect(e.message).toContain("unknown API method 'deleteEverything'");
  });

  it('accepts well-formed arguments and fills defaults', () => {
    expect(validateArgument('listImages', { datasetId: 'd-1', group: 'group-b' })).toEqual({
      datasetId: 'd-1',
      group: 'group-b',
      offset: 0,
      limit: 200,
    });
    expect(
      validateArgument('computeAttribution', {
        checkpointId: 'c',
        datasetId: 'd',
        imageId: 3,
        method: 'grad-cam',
      }),
    ).toEqual({ checkpointId: 'c', datasetId: 'd', imageId: 3, method: 'grad-cam' });
    expect(
      validateArgument('computeMasks', {
        checkpointId: 'c',
        datasetId: 'd',
        imageId: 0,
        kind: 'random',
        n: 3,
        h: 16,
        w: 8,
        seed: 7,
      }),
    ).toEqual({ checkpointId: 'c', datasetId: 'd', imageId: 0, kind: 'random', n: 3, h: 16, w: 8, seed: 7 });
    expect(validateArgument('groupAverages', { datasetId: 'd', checkpointId: 'c' })).toEqual({
      datasetId: 'd',
      checkpointId: 'c',
      limit: 32,
      seed: 1,
    });
    expect(validateArgument('getStatus', undefined)).toBeUndefined();
    expect(validateArgument('openDataset', '/data/rfw')).toBe('/data/rfw');
  });

  it('names the method, the field and what was expected', () => {
    const bad = failure(() =>
      validateArgument('computeAttribution', {
        checkpointId: 'c',
        datasetId: 'd',
        imageId: 1.5,
        method: 'gam',
      }),
    );
    expect(bad.kind).toBe('usage');
    expect(bad.message).toBe('computeAttribution: imageId is 1.5 (expected an integer in [0, 10000000])');
    const method = failure(() =>
      validateArgument('computeAttribution', {
        checkpointId: 'c',
        datasetId: 'd',
        imageId: 1,
        method: 'lime',
      }),
    );
    expect(method.message).toBe(
      "computeAttribution: method is 'lime' (expected one of gam, pair-gam, grad-cam)",
    );
    const missing = failure(() => validateArgument('listPairs', { imageId: 1 }));
    expect(missing.message).toContain('listPairs: datasetId is missing');
    const masks = failure(() =>
      validateArgument('computeMasks', {
        checkpointId: 'c',
        datasetId: 'd',
        imageId: 0,
        kind: 'sfre',
        n: 65,
        h: 1,
        w: 1,
        seed: 0,
      }),
    );
    expect(masks.message).toBe('computeMasks: n is 65 (expected an integer in [0, 64])');
  });

  it('refuses unknown fields, wrong shapes and extra arguments', () => {
    expect(failure(() => validateArgument('listImages', { datasetId: 'd', evil: 1 })).message).toBe(
      'listImages: unknown field evil (expected only datasetId, group, identity, offset, limit)',
    );
    expect(failure(() => validateArgument('listImages', ['d'])).message).toContain(
      'the argument is an array',
    );
    expect(failure(() => validateArgument('listImages', null)).message).toContain('the argument is null');
    expect(failure(() => validateArgument('getStatus', { x: 1 })).message).toBe(
      'getStatus takes no argument (expected no argument)',
    );
    expect(failure(() => validateArgument('openCheckpoint', '')).message).toContain(
      'openCheckpoint: the path is ""',
    );
    expect(failure(() => validateArgument('openCheckpoint', 'a\u0000b')).kind).toBe('usage');
    expect(failure(() => validateArgument('describeCheckpoint', 'x'.repeat(65))).message).toContain(
      'at most 64 characters',
    );
    expect(
      failure(() => validateArgument('readImage', { datasetId: 'd', imageId: 0, aligned: 4096 })).message,
    ).toBe('readImage: aligned is 4096 (expected an integer in [16, 512])');
  });

  it('lets a job start only with its own kind and parameters', () => {
    expect(validateArgument('startJob', { kind: 'synth', params: { out: 'data/s', seed: 4 } })).toEqual({
      kind: 'synth',
      params: { out: 'data/s', seed: 4 },
    });
    expect(failure(() => validateArgument('startJob', { kind: 'shell', params: {} })).message).toBe(
      "startJob: kind is 'shell' (expected one of synth, audit, train, train-estimate)",
    );
    expect(
      failure(() => validateArgument('startJob', { kind: 'synth', params: { out: 'x', ids: 5 } })).message,
    ).toBe('startJob params: ids is 5 (expected an integer in [20, 10000])');
  });

  it("checks an audit job's parameters and a report export", () => {
    const params = {
      checkpoints: ['a.gabn', 'b.gabn'],
      data: 'rfw',
      bootstrap: 50,
      targetFmrs: [0.001],
      formats: ['pdf'],
    };
    expect(validateArgument('startJob', { kind: 'audit', params })).toEqual({ kind: 'audit', params });
    expect(
      failure(() => validateArgument('startJob', { kind: 'audit', params: { ...params, targetFmrs: [0] } }))
        .message,
    ).toBe('startJob params targetFmrs: 0 is 0 (expected a number in (0, 1])');
    expect(
      failure(() => validateArgument('startJob', { kind: 'audit', params: { ...params, formats: ['docx'] } }))
        .message,
    ).toContain('one of csv, html, pdf');
    expect(
      failure(() => validateArgument('startJob', { kind: 'audit', params: { ...params, out: '/etc' } }))
        .message,
    ).toContain('unknown field out');
    expect(validateArgument('exportReport', { reportId: 'r-1', format: 'pdf', noFaces: true })).toEqual({
      reportId: 'r-1',
      format: 'pdf',
      noFaces: true,
    });
    expect(failure(() => validateArgument('exportReport', { reportId: 'r-1', format: 'docx' })).message).toBe(
      "exportReport: format is 'docx' (expected one of html, pdf, json, csv)",
    );
  });
});
