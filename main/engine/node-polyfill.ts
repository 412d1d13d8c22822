import util from 'node:util';

/**
 * tfjs-node(-gpu) 4.22 calls `util.isNullOrUndefined`, which Node 23 removed (Electron 40+ bundles
 * Node 24). Define it before the native binding is required; harmless where it still exists.
 */
export function installNodeUtilPolyfill(): void {
  const legacy = util as unknown as Record<string, unknown>;
  if (typeof legacy.isNullOrUndefined !== 'function') {
    legacy.isNullOrUndefined = (value: unknown) => value === null || value === undefined;
  }
}
