/**
 * The one place where the renderer's calls enter the main process. Every contract method is
 * registered through the same wrapper, which refuses any message whose sender frame is not the app's
 * own top-level page (as VS Code's validatedIpcMain does), validates the argument at the service
 * boundary, and turns failures into "[kind] message" errors the renderer's client understands.
 */
import type { IpcMain, IpcMainInvokeEvent, WebFrameMain } from 'electron';
import { API_METHODS } from '../main/api/contract.ts';
import type { HostedService } from '../main/api/service.ts';
import { errorFields } from '../main/base/errors.ts';

/** The origin the renderer is loaded from (see main.ts: the app:// protocol). */
export const APP_ORIGIN = 'app://gabn';

/** Whether a message comes from the app's own page: its main frame, at the app's origin. */
export function isTrustedSender(frame: WebFrameMain | null | undefined): boolean {
  if (!frame || frame.parent !== null) return false;
  try {
    // URL.origin is "null" for schemes WHATWG does not know (app:), so compare scheme and host.
    const url = new URL(frame.url);
    return `${url.protocol}//${url.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

function refused(event: IpcMainInvokeEvent, channel: string): Error {
  return new Error(
    `[usage] ${channel}: refused a message from ${event.senderFrame?.url ?? 'an unknown frame'}`,
  );
}

/** Registers `handler` on `channel` behind the sender check; errors cross as "[kind] message". */
export function handleValidated(
  ipcMain: IpcMain,
  channel: string,
  handler: (argument: unknown) => Promise<unknown>,
): void {
  ipcMain.handle(channel, async (event, argument: unknown) => {
    if (!isTrustedSender(event.senderFrame)) throw refused(event, channel);
    try {
      return await handler(argument);
    } catch (error) {
      const e = errorFields(error);
      throw new Error(`[${e.kind}] ${e.message}`);
    }
  });
}

/** Every method of the contract, each on channel `gabn:<method>`. */
export function registerApi(ipcMain: IpcMain, service: HostedService): void {
  for (const method of API_METHODS) {
    handleValidated(ipcMain, `gabn:${method}`, (argument) => service.call(method, argument));
  }
}
