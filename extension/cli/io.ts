/**
 * What a CLI subcommand may do to the outside world. Subcommands take their argv and a CliIo and
 * return an exit code, so tests can run them in-process and capture the output.
 */
export interface CliIo {
  /** Standard output: the table, or the JSON with --json. */
  out(text: string): void;
  /** Standard error: messages, progress. */
  err(text: string): void;
}

/** The signature every subcommand module exports. */
export type CliCommand = (argv: string[], io: CliIo) => Promise<number>;

/** An error whose message is meant for the user as-is (bad flag, bad file); the CLI prints it without a stack. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}
