import { ablateCommand } from './ablate.ts';
import { auditCommand } from './audit.ts';
import { checkpointExportCommand } from './checkpoint-export.ts';
import { checkpointInfoCommand } from './checkpoint-info.ts';
import type { CliCommand } from './command.ts';
import { dataCheckCommand } from './data-check.ts';
import { doctorCommand } from './doctor.ts';
import { embedCommand } from './embed.ts';
import { gamCommand } from './gam.ts';
import { importFaceApiCommand } from './import.ts';
import { importOnnxCommand, importPytorchCommand, importTfjsGraphCommand } from './import-model.ts';
import { mechanismsCommand } from './mechanisms.ts';
import { serveCommand } from './serve.ts';
import { startCommand } from './start.ts';
import { synthCommand } from './synth.ts';
import { trainCommand } from './train.ts';
import { workerCommand } from './worker.ts';

/** Every `gabn` sub-command, in the order `gabn --help` lists them. */
export const commands: readonly CliCommand[] = [
  startCommand,
  serveCommand,
  doctorCommand,
  dataCheckCommand,
  synthCommand,
  checkpointInfoCommand,
  checkpointExportCommand,
  importFaceApiCommand,
  importOnnxCommand,
  importPytorchCommand,
  importTfjsGraphCommand,
  gamCommand,
  embedCommand,
  auditCommand,
  trainCommand,
  ablateCommand,
  mechanismsCommand,
  workerCommand,
];
