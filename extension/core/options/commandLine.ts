/**
 * A command's flags and --help text, derived from its schema: node:util parseArgs splits the
 * command line (--flag value, --flag=value, switches, -h, `--`), the schema's parsers convert each
 * value, and problems come back as UsageProblem messages naming the flag.
 */
import { parseArgs } from 'node:util';
import { type CommandSchema, type OptionSpec, OptionValueError, cliProblemMessage, didYouMean, flagOf } from './schema';

/** A command line that cannot be used as given; the message is for the user. */
export class UsageProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageProblem';
  }
}

export interface ParsedCommandLine {
  /** Converted values by option name; switches are true when given. */
  values: Record<string, unknown>;
  positionals: string[];
  help: boolean;
}

const HELP: OptionSpec = { name: 'help', kind: 'switch', help: 'print this help' };

/** Options the CLI has, with their flags. */
function cliOptions(schema: CommandSchema): { option: OptionSpec; flag: string }[] {
  return [...schema.options, HELP].flatMap((option) => {
    const flag = flagOf(option);
    return flag ? [{ option, flag }] : [];
  });
}

export function parseCommandLine(schema: CommandSchema, argv: readonly string[], options: { positionals?: boolean } = {}): ParsedCommandLine {
  const known = cliOptions(schema);
  const config = Object.fromEntries(
    known.map(({ option, flag }) => [flag.slice(2), { type: option.kind === 'switch' ? ('boolean' as const) : ('string' as const), ...(option === HELP ? { short: 'h' } : {}) }]),
  );
  // Not strict: the tokens are checked below, so every problem is worded as this CLI words it.
  const { tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  const q = (value: string): string => `${schema.quote ?? "'"}${value}${schema.quote ?? "'"}`;
  const parsed: ParsedCommandLine = { values: {}, positionals: [], help: false };
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (!options.positionals) throw new UsageProblem(`unexpected argument ${q(token.value)} (options start with --; see --help)`);
      parsed.positionals.push(token.value);
      continue;
    }
    const entry = known.find(({ flag, option }) => token.name === flag.slice(2) || (option === HELP && token.rawName === '-h'));
    if (!entry) {
      const guess = didYouMean(token.rawName, known.map(({ flag }) => flag));
      throw new UsageProblem(`unknown option ${token.rawName}${guess ? ` (did you mean ${guess}?)` : ` (see deep-accel ${schema.name} --help)`}`);
    }
    const { option, flag } = entry;
    if (option === HELP) {
      parsed.help = true;
      continue;
    }
    if (seen.has(flag)) throw new UsageProblem(`${flag} given twice`);
    seen.add(flag);
    if (option.kind === 'switch') {
      if (token.inlineValue) throw new UsageProblem(`${flag} takes no value`);
      parsed.values[option.name] = true;
      continue;
    }
    // `--threads --json`: the next flag is not this one's value.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) throw new UsageProblem(`${flag} needs a value`);
    try {
      parsed.values[option.name] = option.parse ? option.parse(token.value, flag) : token.value;
    } catch (error) {
      if (error instanceof OptionValueError) throw new UsageProblem(cliProblemMessage(error, flag, schema));
      throw new UsageProblem(`${flag}: ${(error as Error).message}`);
    }
  }
  return parsed;
}

/** The --help text: synopsis, description, and one line per flag with its placeholder, help and default. */
export function commandUsage(schema: CommandSchema): string {
  const rows = cliOptions(schema)
    .filter(({ option }) => option !== HELP)
    .map(({ option, flag }) => {
      const left = option.kind === 'switch' ? flag : `${flag} ${option.placeholder ?? 'X'}`;
      const values = option.values ? ` [${option.values.join(', ')}]` : '';
      const fallback = option.defaultText ? ` [default: ${option.defaultText}]` : '';
      return [left, `${option.help}${values}${fallback}`] as const;
    });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `Usage: deep-accel ${schema.name} ${schema.cliSynopsis}`,
    '',
    ...(schema.description ? [schema.description, ''] : []),
    'Options:',
    ...rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`),
    ...(schema.notes ? ['', schema.notes] : []),
    '',
  ].join('\n');
}
