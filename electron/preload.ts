/**
 * The preload of the sandboxed renderer: exposes the contract as `window.gabn` through contextBridge,
 * and nothing else — a `call` limited to the contract's methods, an event subscription limited to its
 * events, the native folder and file dialogs, and saving a report (save dialog, printToPDF). It runs
 * in Electron's sandbox, so it is bundled at build time (scripts/build-electron.ts) into a single
 * CommonJS file that requires only 'electron', with the contract's method and event lists inlined.
 */
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import { API_EVENTS, API_METHODS, type ApiEventName, type ApiEvents } from '../main/api/contract.ts';

// The contract's own lists: this file is bundled at build time, so it may import their values.
const METHODS: readonly string[] = API_METHODS;
const EVENTS: readonly string[] = API_EVENTS;

contextBridge.exposeInMainWorld('gabn', {
  call(method: string, argument: unknown): Promise<unknown> {
    if (!METHODS.includes(method)) {
      return Promise.reject(new Error(`[usage] unknown API method '${String(method).slice(0, 60)}'`));
    }
    return ipcRenderer.invoke(`gabn:${method}`, argument);
  },
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    if (!EVENTS.includes(event)) throw new Error(`unknown event '${String(event).slice(0, 60)}'`);
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
  pickModelFile(title: string): Promise<string | undefined> {
    return ipcRenderer.invoke('gabn:pick-model-file', String(title).slice(0, 200));
  },
  saveReport(request: unknown): Promise<string | undefined> {
    return ipcRenderer.invoke('gabn:save-report', request);
  },
});
