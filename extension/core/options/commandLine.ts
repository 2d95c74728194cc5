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

/** Help text is read in terminals: 80 columns, the width man pages and `--help` of GNU tools keep to. */
const HELP_COLUMNS = 80;
/** Narrower than this, a flag's help starts on the line below the flag instead of beside it. */
const MIN_HELP_COLUMN = 32;

/** Breaks text into lines of at most `width` characters at spaces; a word longer than the width keeps a line of its own. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The synopsis breaks only between top-level words, so `[--pad p | --pads t,l,b,r]` stays on one line; continuation lines are indented past the command name. */
function wrapSynopsis(name: string, synopsis: string): string[] {
  const prefix = `Usage: deep-accel ${name} `;
  const indent = ' '.repeat(prefix.length);
  return synopsis.split('\n').flatMap((form, index) => {
    const words: string[] = [];
    let depth = 0;
    let word = '';
    for (const char of index === 0 ? form : form.replace(new RegExp(`^\\s*deep-accel ${name} `), '')) {
      if (char === '[' || char === '(') depth++;
      if (char === ']' || char === ')') depth--;
      if (char === ' ' && depth === 0) {
        if (word) words.push(word);
        word = '';
      } else {
        word += char;
      }
    }
    if (word) words.push(word);
    const lines = [''];
    for (const next of words) {
      const current = lines[lines.length - 1];
      if (current && prefix.length + current.length + 1 + next.length > HELP_COLUMNS) lines.push(next);
      else lines[lines.length - 1] = current ? `${current} ${next}` : next;
    }
    const lead = index === 0 ? prefix : `${' '.repeat('Usage: '.length)}deep-accel ${name} `;
    return lines.map((line, i) => `${i === 0 ? lead : indent}${line}`);
  });
}

/** Paragraphs are separated by blank lines; the line breaks inside one are reflowed. */
function wrapParagraphs(text: string, width: number): string[] {
  return text.split(/\n\s*\n/).flatMap((paragraph, index) => [...(index > 0 ? [''] : []), ...wrapWords(paragraph, width)]);
}

/** The --help text: synopsis, description, and one entry per flag with its placeholder, help and default, wrapped at 80 columns. */
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
  const helpColumn = 2 + width;
  const flagLines = rows.flatMap(([left, help]) => {
    if (HELP_COLUMNS - helpColumn < MIN_HELP_COLUMN) {
      return [`  ${left}`, ...wrapWords(help, HELP_COLUMNS - 6).map((line) => `      ${line}`)];
    }
    const [first, ...rest] = wrapWords(help, HELP_COLUMNS - helpColumn);
    return [`  ${left.padEnd(width)}${first ?? ''}`.trimEnd(), ...rest.map((line) => `${' '.repeat(helpColumn)}${line}`)];
  });
  return [
    ...wrapSynopsis(schema.name, schema.cliSynopsis),
    '',
    ...(schema.description ? [...wrapParagraphs(schema.description, HELP_COLUMNS), ''] : []),
    'Options:',
    ...flagLines,
    ...(schema.notes ? ['', ...wrapParagraphs(schema.notes, HELP_COLUMNS)] : []),
    '',
  ].join('\n');
}
