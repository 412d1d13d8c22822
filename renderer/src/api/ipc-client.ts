/**
 * The Electron host's client: the preload exposes the contract as `window.gabn` (contextBridge); calls
 * go over validated IPC to the same service the browser host uses. Errors arrive as the engine's
 * error fields.
 */
import type {
  ApiArgument,
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiResult,
  GabnBridge,
  ReportExportRequest,
} from '../../../main/api/contract.ts';
import { ApiCallError, type ApiClient } from './client.ts';

/** What the preload puts on window: the bridge plus the native dialogs and saving a report. */
export interface PreloadBridge extends GabnBridge {
  pickFolder(title: string): Promise<string | undefined>;
  pickCsvFile(title: string): Promise<string | undefined>;
  pickModelFile(title: string): Promise<string | undefined>;
  saveReport(request: ReportExportRequest): Promise<string | undefined>;
}

declare global {
  interface Window {
    gabn?: PreloadBridge;
  }
}

/** Electron wraps errors thrown in the main process: "Error invoking remote method 'x': Error: [kind] message". */
function callError(error: unknown): ApiCallError {
  const text = error instanceof Error ? error.message : String(error);
  const match = /Error: \[([a-z-]+)\] ([\s\S]*)$/.exec(text);
  return match ? new ApiCallError(match[1]!, match[2]!) : new ApiCallError('internal', text);
}

export function createIpcClient(bridge: PreloadBridge): ApiClient {
  async function call<M extends ApiMethod>(method: M, argument: ApiArgument<M>): Promise<ApiResult<M>> {
    try {
      return await bridge.call(method, argument);
    } catch (error) {
      throw callError(error);
    }
  }
  function on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    return bridge.on(event, listener);
  }
  return {
    host: 'electron',
    call,
    on,
    pickFolder: (title) => bridge.pickFolder(title),
    pickCsvFile: (title) => bridge.pickCsvFile(title),
    pickModelFile: (title) => bridge.pickModelFile(title),
    async saveReport(request) {
      try {
        return await bridge.saveReport(request);
      } catch (error) {
        throw callError(error);
      }
    },
  };
}
