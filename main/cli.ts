/**
 * The `gabn` command: the headless front door to everything the app does (researchers run audits on
 * servers). Dispatches to one file per sub-command under main/cli/.
 */

import { fromSystemError, GabnError, isGabnError } from './base/errors.ts';
import type { CliCommand, CliContext } from './cli/command.ts';
import { commands } from './cli/commands.ts';

function findCommand(argv: readonly string[]): { command: CliCommand; rest: readonly string[] } | undefined {
  let best: CliCommand | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => argv[i] === word);
    if (matches && (best === undefined || command.path.length > best.path.length)) best = command;
  }
  return best === undefined ? undefined : { command: best, rest: argv.slice(best.path.length) };
}

function help(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  const lines = commands.map((c) => `  gabn ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return `GABN Studio — audit and reduce racial bias in face recognition.\n\nUsage:\n${lines.join('\n')}\n\nRun 'gabn <command> --help' for a command's options.\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(help());
    return argv.length === 0 ? 1 : 0;
  }
  const found = findCommand(argv);
  if (found === undefined) {
    throw new GabnError('usage', `unknown command '${argv.join(' ')}'`, {
      expected: `one of: ${commands.map((c) => c.path.join(' ')).join(', ')}`,
    });
  }
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    process.stdout.write(`${found.command.usage.trimEnd()}\n`);
    return 0;
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(
      `\n${signal}: stopping after the current step (press Ctrl-C again to quit at once)\n`,
    );
    controller.abort(new GabnError('cancelled', `cancelled by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const context: CliContext = { signal: controller.signal, stdout: process.stdout, stderr: process.stderr };
  return found.command.run(found.rest, context);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A file system error about a path is the user's files, not a bug: no stack for it either.
    const known = isGabnError(error) ? error : fromSystemError(error);
    if (known !== undefined) {
      process.stderr.write(`gabn: ${known.message}\n`);
      process.exitCode = known.kind === 'cancelled' ? 130 : 2;
    } else {
      process.stderr.write(
        `gabn: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 70;
    }
  },
);
