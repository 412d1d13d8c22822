/** The name and version of this GABN Studio, recorded in every checkpoint, report and run it writes. */
import { readFileSync } from 'node:fs';

export interface SoftwareVersion {
  readonly name: string;
  readonly version: string;
}

let cached: SoftwareVersion | undefined;

/** The name and version in the project's package.json (read once). */
export function softwareVersion(): SoftwareVersion {
  if (cached === undefined) {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as SoftwareVersion;
    cached = { name: pkg.name, version: pkg.version };
  }
  return cached;
}
