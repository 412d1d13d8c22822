/**
 * The preload of the sandboxed renderer: exposes the contract as `window.gabn` through contextBridge,
 * and nothing else — a `call` limited to the contract's methods, an event subscription limited to its
 * events, the native folder and file dialogs, and saving a report (save dialog, printToPDF). It runs
 * in Electron's sandbox, so it is compiled to a single CommonJS file that requires only 'electron'
 * (main.ts does that at start) and imports only types.
 */
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import type { ApiEventName, ApiEvents, ApiMethod } from '../main/api/contract.ts';

const METHODS = [
  'getStatus',
  'listCheckpoints',
  'openCheckpoint',
  'describeCheckpoint',
  'listDatasets',
  'openDataset',
  'listGroups',
  'listImages',
  'readImage',
  'computeAttribution',
  'computeMasks',
  'listPairs',
  'groupAverages',
  'startJob',
  'prepareDemoWorkspace',
  'importModel',
  'cancelJob',
  'listJobs',
  'readRunFile',
  'listReports',
  'openReport',
  'exportReport',
  'describeTraining',
  'validateTraining',
  'listRuns',
  'readRunMetrics',
  'readRunStrip',
  'readRunLog',
  'stopJob',
  'resumeJob',
  'deleteRun',
  'exportRunCheckpoint',
  'startAblation',
] as const satisfies readonly ApiMethod[];
// The list above is the contract's, no more and no less (a compile error otherwise).
const everyMethod: Exclude<ApiMethod, (typeof METHODS)[number]> extends never ? true : never = true;
const EVENTS = [
  'job-progress',
  'job-log',
  'job-finished',
  'workspace-changed',
  'job-metrics',
] as const satisfies readonly ApiEventName[];
const everyEvent: Exclude<ApiEventName, (typeof EVENTS)[number]> extends never ? true : never = true;
void everyMethod;
void everyEvent;

contextBridge.exposeInMainWorld('gabn', {
  call(method: string, argument: unknown): Promise<unknown> {
    if (!(METHODS as readonly string[]).includes(method)) {
      return Promise.reject(new Error(`[usage] unknown API method '${String(method).slice(0, 60)}'`));
    }
    return ipcRenderer.invoke(`gabn:${method}`, argument);
  },
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    if (!(EVENTS as readonly string[]).includes(event))
      throw new Error(`unknown event '${String(event).slice(0, 60)}'`);
    const handler = (_: IpcRendererEvent, message: { event: string; payload: ApiEvents[E] }) => {
      if (message.event === event) listener(message.payload);
    };
    ipcRenderer.on('gabn:event', handler);
    return () => {
      ipcRenderer.removeListener('gabn:event', handler);
    };
  },
  pickFolder(title: string): Promise<string | undefined> {
    return ipcRenderer.invoke('gabn:pick-folder', String(title).slice(0, 200));
  },
  pickCsvFile(title: string): Promise<string | undefined> {
    return ipcRenderer.invoke('gabn:pick-csv-file', String(title).slice(0, 200));
  },
  saveReport(request: unknown): Promise<string | undefined> {
    return ipcRenderer.invoke('gabn:save-report', request);
  },
});
