/**
 * One `gabn` sub-command. Each lives in its own file under main/cli/ and is listed in commands.ts.
 * `run` returns the process exit code; it throws GabnError for anything the user can fix.
 */
export interface CliCommand {
  /** The words that select it, e.g. ['data', 'check']. */
  readonly path: readonly string[];
  /** One line for `gabn --help`. */
  readonly summary: string;
  /** Full usage text for `gabn <command> --help`. */
  readonly usage: string;
  run(args: readonly string[], context: CliContext): Promise<number>;
}

export interface CliContext {
  /** Aborted on the first SIGINT/SIGTERM: long work stops cleanly and writes nothing half-done. */
  readonly signal: AbortSignal;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}
