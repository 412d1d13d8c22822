// `npm run build:electron`: the desktop app's bundles in dist-electron/ (main/cli/shell-build.ts).
import { buildShell } from '../main/cli/shell-build.ts';

for (const file of await buildShell()) console.log(`built ${file}`);
