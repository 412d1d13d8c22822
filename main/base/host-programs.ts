/**
 * Finds the programs the project needs outside Node: an Electron binary (for the desktop app and its
 * end-to-end test) and a Chromium (for the browser end-to-end tests and PDF reports), and the one
 * list of flags a headless Chromium runs with.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type ToolLookup = { available: true; path: string } | { available: false; reason: string };

const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
];

export function findChromium(): ToolLookup {
  const fromEnv = process.env.GABN_CHROMIUM;
  if (fromEnv) {
    return existsSync(fromEnv)
      ? { available: true, path: fromEnv }
      : { available: false, reason: `GABN_CHROMIUM=${fromEnv} does not exist` };
  }
  const found = CHROMIUM_CANDIDATES.find((candidate) => existsSync(candidate));
  return found
    ? { available: true, path: found }
    : {
        available: false,
        reason: `none of ${CHROMIUM_CANDIDATES.slice(0, 4).join(', ')} exists (install Debian's chromium package, or set GABN_CHROMIUM)`,
      };
}

const SWIFTSHADER_VULKAN_CANDIDATES = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

/**
 * Chromium's SwiftShader Vulkan driver (its manifest, for VK_ICD_FILENAMES): a GPU emulated on the
 * CPU that Dawn accepts, so the webgpu rung can be checked on a machine without a GPU. Many times
 * slower than wasm: for tests and `npm run bench:gpu -- --software` only.
 */
export function findSwiftShaderVulkanDriver(): ToolLookup {
  const found = SWIFTSHADER_VULKAN_CANDIDATES.find((candidate) => existsSync(candidate));
  return found
    ? { available: true, path: found }
    : {
        available: false,
        reason: `no SwiftShader Vulkan driver (none of ${SWIFTSHADER_VULKAN_CANDIDATES.slice(0, 2).join(', ')} exists: it comes with Debian's chromium package)`,
      };
}

/**
 * The electron npm package (>= 42) fetches its binary on first launch; where that download is not
 * possible (no internet), the package is present but the binary is not.
 */
export function findElectronBinary(require: NodeJS.Require): ToolLookup {
  let packageDir: string;
  try {
    packageDir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { available: false, reason: 'the electron package is not installed' };
  }
  const pathFile = path.join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) {
    return {
      available: false,
      reason:
        'the electron package has no binary yet (it is downloaded on first launch, which needs internet access)',
    };
  }
  const binary = path.join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary)
    ? { available: true, path: binary }
    : {
        available: false,
        reason: `the Electron binary ${binary} is missing (its download needs internet access)`,
      };
}

/** Flags for a headless Chromium on a machine without network access. */
export const HEADLESS_CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
