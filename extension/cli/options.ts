/** The CLI's view of the option schemas: a command line parsed by its schema, problems as usage errors. */
import { type ParsedCommandLine, UsageProblem, commandUsage, parseCommandLine } from '../core/options/commandLine';
import { requestFields } from '../core/options/commands';
import type { CommandSchema } from '../core/options/schema';
import { CliUsageError } from './io';

export interface CommandLine extends ParsedCommandLine {
  /** The request fields of the flags given, and of the defaults the schema gives. */
  request: Record<string, unknown>;
}

export function commandLine(schema: CommandSchema, argv: readonly string[], options: { positionals?: boolean } = {}): CommandLine {
  try {
    const parsed = parseCommandLine(schema, argv, options);
    return { ...parsed, request: requestFields(schema, parsed.values, 'cli') };
  } catch (error) {
    if (error instanceof UsageProblem) throw new CliUsageError(error.message);
    throw error;
  }
}

export { commandUsage };
