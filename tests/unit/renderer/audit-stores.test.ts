// @vitest-environment happy-dom
/**
 * The Audit and Reports views' stores with an in-memory client: what Run sends, what stops it, the
 * point estimates then the whole report as the job's events arrive, exports (a download in the
 * browser, the host's save where there is one), and a pair sent to Browse.
 */
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AttributionMap, JobInfo, ReportSummary, ReportView } from '../../../main/api/contract.ts';
import { setApiClient } from '../../../renderer/src/api/index.ts';
import { parseRates, useAuditStore } from '../../../renderer/src/stores/audit.ts';
import { useBrowseStore } from '../../../renderer/src/stores/browse.ts';
import { useImageDetailStore } from '../../../renderer/src/stores/image-detail.ts';
import { useReportsStore } from '../../../renderer/src/stores/reports.ts';
import { useStatusStore } from '../../../renderer/src/stores/status.ts';
import { encodeMap, fakeClient } from './fake-client.ts';

const job: JobInfo = {
  id: '20260101-000000-audit-abcdef',
  kind: 'audit',
  state: 'running',
  params: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  runDir: '/w/runs/x',
};

const summary: ReportSummary = {
  id: job.id,
  origin: 'app',
  title: 'Audit of a.gabn',
  path: '/w/runs/x/audit.json',
  createdAt: '2026-01-01T00:00:00.000Z',
  labels: ['a.gabn'],
  groups: ['g1', 'g2'],
  pairs: 40,
  comparisons: 0,
  jobId: job.id,
};

function view(preliminary: boolean): ReportView {
  return {
    ...summary,
    reports: [],
    comparisonViews: [],
    attention: [null],
    checkpointIds: ['c1'],
    worstPairs: [null],
    preliminary,
    noFaces: false,
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

beforeEach(() => {
  setActivePinia(createPinia());
});

describe('audit store', () => {
  it('reads target FMRs and says what is wrong with them', () => {
    expect(parseRates('0.001, 0.01')).toEqual([0.001, 0.01]);
    expect(parseRates('0.001 1e-4')).toEqual([0.001, 1e-4]);
    expect(parseRates('')).toBe('give at least one target FMR');
    expect(parseRates('0.001, 2')).toBe("'2' is not a rate between 0 and 1");
  });

  it('says why Run cannot start, then sends the request gabn audit would get', async () => {
    const client = fakeClient({ startJob: () => job });
    setApiClient(client);
    const audit = useAuditStore();
    expect(audit.problem).toBe('choose a checkpoint to audit');
    audit.choose(['c1', 'c2']);
    expect(audit.problem).toBe('choose the dataset to audit it on');
    audit.datasetId = 'd1';
    audit.bootstrap = 0;
    expect(audit.problem).toBe('comparing needs bootstrap resamples');
    audit.bootstrap = 200;
    audit.makeFirst('c2');
    expect(audit.checkpointIds).toEqual(['c2', 'c1']);
    audit.targetFmrsText = '0.01';
    audit.attention = false;
    audit.noFaces = true;
    await audit.run({ checkpoints: ['/m/b.gabn', '/m/a.gabn'], data: '/d/rfw' });
    expect(client.callsOf('startJob')).toEqual([
      {
        kind: 'audit',
        params: {
          checkpoints: ['/m/b.gabn', '/m/a.gabn'],
          data: '/d/rfw',
          flip: true,
          bootstrap: 200,
          seed: 1,
          targetFmrs: [0.01],
          attentionImages: 0,
          noFaces: true,
          formats: ['html'],
        },
      },
    ]);
    expect(audit.jobId).toBe(job.id);
    expect(audit.running).toBe(true);
  });

  it('shows the point estimates during the bootstrap, then the report; a cancelled audit leaves none', async () => {
    let finalReady = false;
    const client = fakeClient({
      startJob: () => job,
      cancelJob: () => ({ ...job, state: 'cancelled' }),
      getStatus: () => ({
        version: '0',
        backend: 'cpu',
        why: '',
        workspace: '/w',
        host: 'browser',
        jobs: [],
        demoMissing: [],
      }),
      openReport: () => view(!finalReady),
    });
    setApiClient(client);
    const status = useStatusStore();
    status.subscribe();
    const audit = useAuditStore();
    audit.choose(['c1']);
    audit.datasetId = 'd1';
    await audit.run({ checkpoints: ['/m/a.gabn'], data: '/d/rfw' });
    client.emit('job-progress', {
      id: job.id,
      progress: { done: 10, total: 160, message: 'embedding with a.gabn' },
    });
    await tick();
    expect(client.callsOf('openReport')).toEqual([]);
    client.emit('job-progress', { id: job.id, progress: { done: 10, total: 1000, message: 'bootstrap' } });
    await tick();
    expect(audit.report?.preliminary).toBe(true);
    expect(audit.phases).toEqual(['embedding with a.gabn', 'bootstrap']);
    finalReady = true;
    client.emit('job-finished', { ...job, state: 'succeeded' });
    await tick();
    await tick();
    expect(audit.report?.preliminary).toBe(false);

    // Again, cancelled during its bootstrap: the point estimates go with it.
    finalReady = false;
    await audit.run({ checkpoints: ['/m/a.gabn'], data: '/d/rfw' });
    client.emit('job-progress', { id: job.id, progress: { done: 1, total: 1000, message: 'bootstrap' } });
    await tick();
    expect(audit.report?.preliminary).toBe(true);
    client.emit('job-finished', { ...job, state: 'cancelled' });
    await tick();
    expect(audit.report).toBeUndefined();
    expect(audit.error).toBeUndefined();
  });
});

describe('reports store', () => {
  it('lists the reports, shows the first, and downloads an export in the browser', async () => {
    const client = fakeClient({
      listReports: () => [summary],
      exportReport: (r) => ({
        fileName: `audit.${r.format}`,
        mime: 'application/pdf',
        base64: Buffer.from('%PDF-1.7').toString('base64'),
        etag: 'x',
      }),
    });
    setApiClient(client);
    const reports = useReportsStore();
    await reports.refresh();
    expect(reports.selected?.id).toBe(job.id);
    expect(reports.htmlUrl).toBe(`media/report/${job.id}.html`);
    reports.noFaces = true;
    expect(reports.htmlUrl).toBe(`media/report/${job.id}.html?faces=0`);
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return 'blob:x';
    });
    URL.revokeObjectURL = vi.fn();
    const clicked: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicked.push(this.download);
    });
    await reports.exportAs('pdf');
    click.mockRestore();
    expect(client.callsOf('exportReport')).toEqual([{ reportId: job.id, format: 'pdf', noFaces: true }]);
    expect(clicked).toEqual(['audit.pdf']);
    expect(await created[0]!.text()).toBe('%PDF-1.7');
    expect(reports.message).toBe('downloaded audit.pdf');
  });

  it('lets the desktop host save it where the person chooses', async () => {
    const saved: unknown[] = [];
    const client = { ...fakeClient({ listReports: () => [summary] }) };
    setApiClient({
      ...client,
      saveReport: async (request) => {
        saved.push(request);
        return '/home/me/audit.pdf';
      },
    });
    const reports = useReportsStore();
    await reports.refresh();
    await reports.exportAs('csv');
    expect(saved).toEqual([{ reportId: job.id, format: 'csv', noFaces: false }]);
    expect(reports.message).toBe('saved /home/me/audit.pdf');
  });
});

describe('a pair sent to Browse', () => {
  it('shows the image of the pair with the pair GAM against its partner', async () => {
    const map: AttributionMap = {
      method: 'pair-gam',
      width: 2,
      height: 1,
      values: encodeMap([0.5, 1]),
      rawMax: 1,
      massFraction: 0.5,
      entropy: 0.9,
      partnerId: 7,
    };
    const client = fakeClient({
      listDatasets: () => [
        {
          id: 'd1',
          path: '/d',
          format: 'rfw',
          groups: [{ name: 'g2', images: 2, identities: 2, pairs: 1 }],
          images: 2,
          pairs: 1,
          problems: 0,
        },
      ],
      listImages: () => ({
        total: 2,
        offset: 0,
        images: [
          { id: 3, relative: 'g2/x_1.jpg', identity: 'x', group: 'g2' },
          { id: 7, relative: 'g2/y_1.jpg', identity: 'y', group: 'g2' },
        ],
      }),
      computeAttribution: () => map,
      listPairs: () => ({ pairs: [] }),
    });
    setApiClient(client);
    const browse = useBrowseStore();
    await browse.showPair('d1', 3, 7, 'g2');
    expect(browse.datasetId).toBe('d1');
    expect(browse.group).toBe('g2');
    expect(browse.selectedImage?.id).toBe(3);
    expect(browse.partnerId).toBe(7);
    const detail = useImageDetailStore();
    await detail.show({
      checkpointId: 'c1',
      datasetId: 'd1',
      imageId: 3,
      hasHead: true,
      inputSize: 32,
      partnerId: 7,
    });
    expect(detail.method).toBe('pair-gam');
    expect(client.callsOf('computeAttribution')).toEqual([
      { checkpointId: 'c1', datasetId: 'd1', imageId: 3, method: 'pair-gam', partnerId: 7 },
    ]);
    browse.selectImage(7);
    expect(browse.partnerId).toBeUndefined();
  });
});
