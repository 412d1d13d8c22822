/**
 * The audit job and the reports of a workspace, through the service as the app calls it: an audit of
 * two checkpoints in a worker process (progress per phase, the run folder's files, the same figures
 * as the audit use case run directly), the reports found on disk (the app's, `gabn audit --out`'s,
 * an ablation's), opened with their comparisons and worst pairs, exported in every format, and an
 * audit cancelled during its bootstrap after its point estimates were shown.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobInfo, ReportView } from '../../../main/api/contract.ts';
import { createService, type GabnService } from '../../../main/api/service.ts';
import { GabnError } from '../../../main/base/errors.ts';
import { findChromium } from '../../../main/base/host-programs.ts';
import { createIResNet, createMarginHead, iresnetSpec, saveCheckpoint } from '../../../main/models/index.ts';
import type { AuditReport } from '../../../main/report/report-model.ts';
import { sniffReportKind } from '../../../main/report/report-set.ts';
import { runAudit } from '../../../main/usecases/audit/run-audit.ts';
import { makeTinyWorkspace, type TinyWorkspace } from './tiny-workspace.ts';

let tiny: TinyWorkspace;
let service: GabnService;
let second: string;
let job: JobInfo;
const phases: string[] = [];

async function rejection(promise: Promise<unknown>): Promise<GabnError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GabnError) return error;
    throw error;
  }
  throw new Error('expected a GabnError');
}

beforeAll(async () => {
  process.env.GABN_CACHE_DIR = mkdtempSync(path.join(os.tmpdir(), 'gabn-reports-cache-'));
  tiny = await makeTinyWorkspace(mkdtempSync(path.join(os.tmpdir(), 'gabn-reports-')));
  second = path.join(tiny.workspace, 'models', 'other.gabn');
  await saveCheckpoint(second, {
    model: createIResNet(iresnetSpec({ depth: 18, width: 0.125, inputSize: 32, embeddingSize: 16 }), 2),
    groups: ['group-a', 'group-b', 'group-c', 'group-d'],
    classCount: 6,
    provenance: { data: {}, config: {}, metrics: {} },
    head: createMarginHead(16, 6, 3),
  });
  service = createService({ workspace: tiny.workspace, host: 'browser', embeddingCacheDir: null });
  service.on('job-progress', (p) => {
    const message = p.progress.message ?? '';
    if (!phases.includes(message)) phases.push(message);
  });
  job = await service.call('startJob', {
    kind: 'audit',
    params: {
      checkpoints: [tiny.checkpoint, second],
      data: tiny.rfw,
      bootstrap: 40,
      seed: 3,
      attentionImages: 2,
      formats: ['csv', 'html'],
    },
  });
  job = await service.runner.wait(job.id);
});

afterAll(async () => {
  await service?.close();
});

describe('the audit job', () => {
  it('runs in a worker, reporting every phase by name, and fills its run folder', () => {
    expect(job.state, job.error).toBe('succeeded');
    for (const phase of [
      'embedding with tiny.gabn',
      'embedding with other.gabn',
      'pairs',
      'bootstrap',
      'bootstrap (second)',
      'paired bootstrap',
      'attention maps',
      'attention maps (second)',
    ])
      expect(phases).toContain(phase);
    for (const file of [
      'report.json',
      'report.csv',
      'report.html',
      'audit.json',
      'attention/0/0-gam.png',
      'attention/1/3-face.png',
    ])
      expect(existsSync(path.join(job.runDir, file)), file).toBe(true);
    expect(existsSync(path.join(job.runDir, 'preview.json'))).toBe(false);
    expect(job.result).toEqual({
      files: ['report.json', 'report.csv', 'report.html', 'audit.json'],
      labels: ['tiny.gabn', 'other.gabn'],
    });
  });

  it('writes the figures `gabn audit` computes for the same request, and says the command', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-reports-cli-'));
    const outcome = await runAudit({
      checkpoints: [tiny.checkpoint, second],
      data: tiny.rfw,
      bootstrap: 40,
      seed: 3,
      out: [path.join(dir, 'cli.json')],
      commandLine: [],
    });
    const app = JSON.parse(readFileSync(path.join(job.runDir, 'report.json'), 'utf8')) as AuditReport;
    const cli = outcome.reports[0]!;
    expect(app.groups.map((g) => g.accuracy)).toEqual(cli.groups.map((g) => g.accuracy));
    expect(app.overall).toEqual(cli.overall);
    expect(app.comparison?.std).toEqual(cli.comparison?.std);
    expect(app.comparison?.groups).toEqual(cli.comparison?.groups);
    expect(app.provenance.commandLine.slice(0, 6)).toEqual([
      'gabn',
      'audit',
      '--checkpoint',
      tiny.checkpoint,
      '--checkpoint',
      second,
    ]);
  });

  it('refuses a request gabn audit refuses, before any job starts', async () => {
    const before = service.runner.list().length;
    const e = await rejection(
      service.call('startJob', {
        kind: 'audit',
        params: { checkpoints: [tiny.checkpoint, second], data: tiny.rfw, bootstrap: 0 },
      }),
    );
    expect(e.message).toContain('needs bootstrap resamples');
    const missing = await rejection(
      service.call('startJob', { kind: 'audit', params: { checkpoints: ['no-such.gabn'], data: tiny.rfw } }),
    );
    expect(missing.kind).toBe('missing-file');
    const invalid = await rejection(
      service.call('startJob', { kind: 'audit', params: { checkpoints: [], data: tiny.rfw } } as never),
    );
    expect(invalid.kind).toBe('usage');
    expect(service.runner.list().length).toBe(before);
  });
});

describe('the reports of the workspace', () => {
  let view: ReportView;

  beforeAll(async () => {
    // A report `gabn audit --out` wrote into the workspace, and an ablation's document.
    const reports = path.join(tiny.workspace, 'reports');
    mkdirSync(reports, { recursive: true });
    const cli = await runAudit({
      checkpoints: [tiny.checkpoint],
      data: tiny.rfw,
      bootstrap: 20,
      out: [path.join(reports, 'cli-audit.json')],
      commandLine: ['gabn', 'audit'],
    });
    const ablation = path.join(tiny.workspace, 'ablation-out');
    mkdirSync(ablation, { recursive: true });
    writeFileSync(
      path.join(ablation, 'ablation.json'),
      JSON.stringify({
        kind: 'gabn-ablation',
        version: 1,
        labels: ['baseline (seed 1)', 'gabn (seed 1)'],
        rows: [],
        reports: [cli.reports[0], cli.reports[0]],
      }),
    );
    writeFileSync(path.join(reports, 'unrelated.json'), '{"kind": "something else"}');
    view = await service.call('openReport', job.id);
  });

  it('recognises report files by their first bytes', () => {
    expect(sniffReportKind('{\n  "schemaVersion": 1,\n  "kind": "gabn-fairness-audit",')).toBe('audit');
    expect(sniffReportKind('{"kind":"gabn-ablation","version":1')).toBe('ablation');
    expect(sniffReportKind('{"kind": "gabn-audit-set"')).toBe('audit-set');
    expect(sniffReportKind('{"kind": "other"}')).toBeUndefined();
  });

  it("lists the app's audit, gabn audit's file and the ablation", async () => {
    const list = await service.call('listReports', undefined);
    const origins = list.map((r) => r.origin).sort();
    expect(origins).toEqual(['ablation', 'app', 'cli']);
    const app = list.find((r) => r.origin === 'app')!;
    expect(app).toMatchObject({
      id: job.id,
      jobId: job.id,
      labels: ['tiny.gabn', 'other.gabn'],
      comparisons: 1,
      pairs: 160,
    });
    expect(app.groups).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
    expect(list.find((r) => r.origin === 'cli')!.title).toBe('Audit of tiny.gabn (cli-audit.json)');
    expect(list.find((r) => r.origin === 'ablation')!.labels).toEqual(['baseline (seed 1)', 'gabn (seed 1)']);
  });

  it('opens a report with its comparison in sentences, its checkpoints, dataset and worst pairs', async () => {
    expect(view.reports).toHaveLength(2);
    expect(view.preliminary).toBe(false);
    const [c] = view.comparisonViews;
    expect(c!.against).toBe('tiny.gabn');
    expect(c!.candidate).toBe('other.gabn');
    expect(c!.verdict.headline).toMatch(/other\.gabn is fairer|No evidence that other\.gabn is fairer/);
    expect(c!.verdict.groups.map((g) => g.name)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
    const datasets = await service.call('listDatasets', undefined);
    expect(view.dataset).toEqual({ id: datasets[0]!.id, path: tiny.rfw });
    const opened = (await service.call('listCheckpoints', undefined)).map((x) => x.path);
    expect(view.checkpointIds.every((id) => id !== null)).toBe(true);
    expect(opened).toContain(second);
    // Each worst pair's images are the dataset's images of that name, and the pair is wrong.
    const worst = view.worstPairs[0]!;
    const all = [
      ...worst.flatMap((g) => g.falseMatches.map((p) => ({ ...p, same: false }))),
      ...worst.flatMap((g) => g.falseNonMatches.map((p) => ({ ...p, same: true }))),
    ];
    expect(all.length).toBeGreaterThan(0);
    for (const p of all) {
      expect(p.a?.relative).toBe(p.pair.imageA);
      expect(p.b?.relative).toBe(p.pair.imageB);
      expect(p.pair.distance < p.pair.threshold).toBe(!p.same);
    }
    expect(view.attention[1]!.map((a) => a.group)).toEqual(['group-a', 'group-b', 'group-c', 'group-d']);
  });

  it('exports HTML with and without faces, JSON and CSV; never with faces the audit left out', async () => {
    const html = Buffer.from(
      (await service.call('exportReport', { reportId: job.id, format: 'html' })).base64,
      'base64',
    ).toString();
    expect(html.match(/alt="average face of/g)).toHaveLength(4);
    expect(html).toContain('other.gabn');
    const bare = await service.call('exportReport', { reportId: job.id, format: 'html', noFaces: true });
    const bareHtml = Buffer.from(bare.base64, 'base64').toString();
    expect(bareHtml).not.toContain('alt="average face of');
    expect(bareHtml.match(/alt="average attention map of/g)).toHaveLength(4);
    expect(bareHtml).toContain('Face images are left out of this report.');
    // The maps drawn over the average face would show it: the report without faces has them over grey.
    const grey = readFileSync(path.join(job.runDir, 'attention', '0', '0-gam-on-grey.png')).toString(
      'base64',
    );
    const overFace = readFileSync(path.join(job.runDir, 'attention', '0', '0-gam.png')).toString('base64');
    expect(bareHtml).toContain(grey);
    expect(bareHtml).not.toContain(overFace);
    expect(html).toContain(overFace);
    expect(bare.fileName).toBe('audit-tiny-vs-other.html');
    const json = JSON.parse(
      Buffer.from(
        (await service.call('exportReport', { reportId: job.id, format: 'json' })).base64,
        'base64',
      ).toString(),
    );
    expect(json.kind).toBe('gabn-audit-set');
    expect(json.reports[1].groups[0].accuracy).toEqual(view.reports[1]!.groups[0]!.accuracy);
    const csv = Buffer.from(
      (await service.call('exportReport', { reportId: job.id, format: 'csv' })).base64,
      'base64',
    )
      .toString()
      .trimEnd()
      .split('\n');
    expect(csv[0]!.split(',').slice(0, 4)).toEqual([
      'source',
      'accuracy_group-a',
      'accuracy_group-a_lower',
      'accuracy_group-a_upper',
    ]);
    expect(csv.slice(1).map((row) => row.split(',')[0])).toEqual(['tiny.gabn', 'other.gabn']);
    expect(Number(csv[2]!.split(',')[1])).toBe(view.reports[1]!.groups[0]!.accuracy.value);
    const cli = (await service.call('listReports', undefined)).find((r) => r.origin === 'cli')!;
    const cliJson = await service.call('exportReport', { reportId: cli.id, format: 'json' });
    expect(Buffer.from(cliJson.base64, 'base64').toString()).toBe(readFileSync(cli.path, 'utf8'));
    expect(cliJson.fileName).toBe('cli-audit.json');
  });

  it.skipIf(!findChromium().available)('exports a PDF printed by Chromium', async () => {
    const pdf = await service.call('exportReport', { reportId: job.id, format: 'pdf', noFaces: true });
    const bytes = Buffer.from(pdf.base64, 'base64');
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    if (!existsSync('/usr/bin/pdftotext')) return;
    const file = path.join(tiny.workspace, 'x.pdf');
    writeFileSync(file, bytes);
    const text = execFileSync('/usr/bin/pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    expect(text).toContain('Face images are left out of this report.');
    expect(text).toContain(view.reports[0]!.groups[1]!.accuracy.value!.toFixed(2));
  });

  it('says which report it does not know', async () => {
    const e = await rejection(service.call('openReport', 'r-000000000000'));
    expect(e.kind).toBe('missing-file');
  });
});

describe('an audit cancelled during its bootstrap', () => {
  it('shows its point estimates first, then stops and writes no report', async () => {
    const started = await service.call('startJob', {
      kind: 'audit',
      params: { checkpoints: [tiny.checkpoint], data: tiny.rfw, bootstrap: 1_000_000, attentionImages: 0 },
    });
    await new Promise<void>((resolve) => {
      const off = service.on('job-progress', (p) => {
        if (p.id === started.id && p.progress.message === 'bootstrap' && p.progress.done > 0) {
          off();
          resolve();
        }
      });
    });
    const preview = await service.call('openReport', started.id);
    expect(preview.preliminary).toBe(true);
    expect(preview.reports[0]!.groups[0]!.accuracy.interval).toBeNull();
    expect(preview.reports[0]!.groups.map((g) => g.accuracy.value)).toEqual(
      (await service.call('openReport', job.id)).reports[0]!.groups.map((g) => g.accuracy.value),
    );
    expect(
      (await rejection(service.call('exportReport', { reportId: started.id, format: 'json' }))).kind,
    ).toBe('busy');
    await service.call('cancelJob', started.id);
    const done = await service.runner.wait(started.id);
    expect(done.state).toBe('cancelled');
    expect(existsSync(path.join(done.runDir, 'report.json'))).toBe(false);
    expect(existsSync(path.join(done.runDir, 'audit.json'))).toBe(false);
    expect((await service.call('listReports', undefined)).some((r) => r.id === started.id)).toBe(false);
  });
});
