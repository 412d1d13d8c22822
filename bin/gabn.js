#!/usr/bin/env node
// The `gabn` command. The project is written in TypeScript and run through tsx's loader, so a fresh
// clone works after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../main/cli.ts');
