// Electron's entry: the shell is TypeScript, run through tsx's loader like the `gabn` command.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
