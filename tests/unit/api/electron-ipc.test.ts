import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { describe, expect, it } from 'vitest';
import { isTrustedSender, registerApi } from '../../../electron/ipc.ts';
import { API_METHODS } from '../../../main/api/contract.ts';
import type { GabnService } from '../../../main/api/service.ts';
import { validateArgument } from '../../../main/api/validation.ts';

type Handler = (event: IpcMainInvokeEvent, argument: unknown) => Promise<unknown>;

/** Electron's ipcMain as far as registration goes: the handlers by channel. */
function fakeIpcMain(): { ipcMain: IpcMain; handlers: Map<string, Handler> } {
  const handlers = new Map<string, Handler>();
  const ipcMain = { handle: (channel: string, handler: Handler) => handlers.set(channel, handler) };
  return { ipcMain: ipcMain as unknown as IpcMain, handlers };
}

function event(url: string, subframe = false): IpcMainInvokeEvent {
  return { senderFrame: { url, parent: subframe ? {} : null } } as unknown as IpcMainInvokeEvent;
}

describe('Electron IPC', () => {
  const calls: { method: string; argument: unknown }[] = [];
  const service = {
    async call(method: string, argument: unknown) {
      const valid = validateArgument(method as never, argument);
      calls.push({ method, argument: valid });
      return { ok: method };
    },
  } as unknown as GabnService;

  it('registers every contract method behind one sender check', async () => {
    const { ipcMain, handlers } = fakeIpcMain();
    registerApi(ipcMain, service);
    expect([...handlers.keys()].sort()).toEqual(API_METHODS.map((m) => `gabn:${m}`).sort());
    expect(await handlers.get('gabn:listDatasets')!(event('app://gabn/index.html'), undefined)).toEqual({
      ok: 'listDatasets',
    });
    expect(calls).toEqual([{ method: 'listDatasets', argument: undefined }]);
  });

  it('refuses messages from any page but the app’s own top-level one', async () => {
    const { ipcMain, handlers } = fakeIpcMain();
    registerApi(ipcMain, service);
    calls.length = 0;
    for (const sender of [
      event('https://evil.example/'),
      event('file:///tmp/page.html'),
      event('app://gabn.evil/index.html'),
      event('app://gabn/index.html', true),
      event('not a url'),
    ]) {
      await expect(handlers.get('gabn:openDataset')!(sender, '/data')).rejects.toThrow(
        /\[usage\] gabn:openDataset: refused/,
      );
    }
    expect(calls).toEqual([]);
    expect(isTrustedSender(null)).toBe(false);
  });

  it('validates arguments and sends failures as "[kind] message"', async () => {
    const { ipcMain, handlers } = fakeIpcMain();
    registerApi(ipcMain, service);
    await expect(
      handlers.get('gabn:listImages')!(event('app://gabn/'), { datasetId: 'd', limit: 0 }),
    ).rejects.toThrow('[usage] listImages: limit is 0 (expected an integer in [1, 100000])');
  });
});
