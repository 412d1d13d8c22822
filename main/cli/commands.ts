import type { CliCommand } from './command.ts';
import { doctorCommand } from './doctor.ts';

/** Every `gabn` sub-command, in the order `gabn --help` lists them. */
export const commands: readonly CliCommand[] = [doctorCommand];
