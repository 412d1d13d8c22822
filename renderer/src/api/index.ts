/**
 * The client is chosen once, at start: the preload's `window.gabn` means the Electron host, anything
 * else the browser host. Stores reach it through `apiClient()`; tests install their own with
 * `setApiClient`.
 */
import type { ApiClient } from './client.ts';
import { createHttpClient } from './http-client.ts';
import { createIpcClient } from './ipc-client.ts';

export { ApiCallError, type ApiClient, imageUrl, runFileUrl } from './client.ts';

let current: ApiClient | undefined;

export function chooseClient(): ApiClient {
  return window.gabn ? createIpcClient(window.gabn) : createHttpClient();
}

export function setApiClient(client: ApiClient): void {
  current = client;
}

export function apiClient(): ApiClient {
  current ??= chooseClient();
  return current;
}
