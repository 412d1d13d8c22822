/**
 * What the views and stores use to reach the engine, whichever host the renderer runs in (Netron's
 * host pattern): the contract's methods, its events, and URLs for media. Both hosts serve media under
 * the same relative paths (`media/...`): the browser host over HTTP, Electron through its app protocol.
 */
import type {
  ApiArgument,
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiResult,
  ReportExportRequest,
} from '../../../main/api/contract.ts';

export interface ApiClient {
  readonly host: 'electron' | 'browser';
  call<M extends ApiMethod>(method: M, argument: ApiArgument<M>): Promise<ApiResult<M>>;
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
  /** Asks the user for a folder (Electron's native dialog); undefined where the host has none. */
  readonly pickFolder?: (title: string) => Promise<string | undefined>;
  /** Asks the user for a CSV file (a manifest or pairs CSV); undefined where the host has no dialog. */
  readonly pickCsvFile?: (title: string) => Promise<string | undefined>;
  /** Asks the user for a model file to import (.onnx, .pth, .pt, .safetensors, model.json). */
  readonly pickModelFile?: (title: string) => Promise<string | undefined>;
  /**
   * Saves a report where the user chooses (the desktop host's save dialog; PDF by its printToPDF);
   * resolves with the path, or undefined when cancelled. Absent in the browser: exports download.
   */
  readonly saveReport?: (request: ReportExportRequest) => Promise<string | undefined>;
}

/** A failed call, carrying the engine's error fields. */
export class ApiCallError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export function imageUrl(datasetId: string, imageId: number, aligned?: number): string {
  const base = `media/image/${encodeURIComponent(datasetId)}/${imageId}`;
  return aligned === undefined ? base : `${base}?aligned=${aligned}`;
}

export function runFileUrl(jobId: string, file: string): string {
  return `media/run/${encodeURIComponent(jobId)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}
