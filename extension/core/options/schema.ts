/**
 * The options of a command, described once: name, type, default, allowed values and help. The CLI
 * flags and their --help text (core/options/commandLine.ts), the notebook cell keys, completion,
 * hover and the `help` cell (core/notebook/cellLanguage.ts) are all read from these entries, and
 * every surface converts a value with the entry's own parser, so a value means the same everywhere.
 *
 * A flag is `--` and the name in kebab case (`budgetMs` is `--budget-ms`), a cell key is the name,
 * unless the entry says otherwise.
 */

/** Why a written value was refused; each surface words it with its own label (`--threads`, `threads=`). */
export type OptionProblem =
  | { kind: 'notInteger'; min: number }
  | { kind: 'range'; value: number; min: number; max?: number; part?: string }
  | { kind: 'choice'; values: readonly string[]; noun?: string }
  /** `must` completes "<label> must ...": "be a number >= 0", "look like 4x4"; cells may word it apart. */
  | { kind: 'expected'; must: string; cellMust?: string }
  | { kind: 'message'; message: string };

export class OptionValueError extends Error {
  constructor(
    readonly problem: OptionProblem,
    /** The text as written (one item of a list). */
    readonly text: string,
  ) {
    super(problem.kind === 'message' ? problem.message : `invalid value '${text}'`);
    this.name = 'OptionValueError';
  }
}

/** Converts the text of one option, `label` being how the surface names it; throws OptionValueError. */
export type OptionParser<T> = (text: string, label: string) => T;

export interface OptionSpec<T = unknown> {
  /** camelCase; the request field it fills unless the command's request builder says otherwise. */
  name: string;
  /** One line for --help, the `help` cell, completion and hover. */
  help: string;
  /** 'switch' takes no value (a CLI flag alone, a bare word in a cell). */
  kind: 'value' | 'switch';
  parse?: OptionParser<T>;
  /** The value when the option is not given (switches: false unless said). */
  default?: T;
  /** The request fields the value fills; default `{ [name]: value }`, none for output choices such as --json. */
  toRequest?: ((value: T) => Record<string, unknown>) | false;
  /** Allowed values (or list items), for completion, hover and the help text. */
  values?: readonly string[];
  /** The default, as the help text shows it. */
  defaultText?: string;
  /** The value's placeholder in --help (`--threads T`). */
  placeholder?: string;
  /** The CLI flag; false when the CLI does not have this option. */
  flag?: string | false;
  /** The cell key; false when cells do not have it. */
  cellKey?: string | false;
  /** Help text for cells, when it differs (paths relative to the notebook, a different default). */
  cellHelp?: string;
}

export interface CommandSchema {
  name: string;
  /** One line, for the CLI's command list and the `help` cell. */
  summary: string;
  /** The CLI's synopsis after `deep-accel <name> `. */
  cliSynopsis: string;
  /** The cell's synopsis, shown by `help`, completion and hover. */
  cellSynopsis: string;
  /** A paragraph under the CLI synopsis, and the `help` cell's and hover's description. */
  description?: string;
  /** A paragraph after the CLI's option list (what a figure assumes). */
  notes?: string;
  options: readonly OptionSpec[];
  /** How the CLI quotes a refused value in messages (the winograd command has always used "). */
  quote?: '"' | "'";
  /** How the CLI words integer problems: 'sign' ("a positive integer") or 'bounds' (">= 1"). */
  integerWording?: 'sign' | 'bounds';
}

export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

export function flagOf(option: OptionSpec): string | undefined {
  return option.flag === false ? undefined : (option.flag ?? `--${kebabCase(option.name)}`);
}

export function cellKeyOf(option: OptionSpec): string | undefined {
  return option.cellKey === false ? undefined : (option.cellKey ?? option.name);
}

// ------------------------------------------------------------------------------------------------
// Value parsers shared by every command
// ------------------------------------------------------------------------------------------------

export function integer(options: { min: number; max?: number }): OptionParser<number> {
  return (text) => {
    if (!/^\s*\d+\s*$/.test(text)) throw new OptionValueError({ kind: 'notInteger', min: options.min }, text);
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < options.min || (options.max !== undefined && value > options.max)) {
      throw new OptionValueError({ kind: 'range', value, min: options.min, max: options.max }, text);
    }
    return value;
  };
}

/** A finite number that `accept` allows; `must` says what is allowed ("be a number >= 0"). */
export function number(must: string, accept: (value: number) => boolean, cellMust?: string): OptionParser<number> {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || !accept(value)) throw new OptionValueError({ kind: 'expected', must, cellMust }, text);
    return value;
  };
}

export function choice<T extends string>(values: readonly T[], noun?: string): OptionParser<T> {
  return (text) => {
    if (!(values as readonly string[]).includes(text)) throw new OptionValueError({ kind: 'choice', values, noun }, text);
    return text as T;
  };
}

/** Comma-separated items, each converted by `item`; an empty item is refused. */
export function list<T>(item: OptionParser<T>): OptionParser<T[]> {
  return (text, label) =>
    text.split(',').map((part) => {
      const trimmed = part.trim();
      if (trimmed === '') throw new OptionValueError({ kind: 'message', message: `${label}: empty item in '${text}'` }, text);
      return item(trimmed, label);
    });
}

/** Text converted by `convert`, whose errors are messages shown as they are (they name `label` themselves). */
export function text<T = string>(convert: (text: string, label: string) => T = (value) => value as unknown as T): OptionParser<T> {
  return (value, label) => {
    try {
      return convert(value, label);
    } catch (error) {
      if (error instanceof OptionValueError) throw error;
      throw new OptionValueError({ kind: 'message', message: (error as Error).message }, value);
    }
  };
}

/** "4x4" -> [4, 4]: two integers in 1..2^20. */
export function pair(must: string, cellMust?: string): OptionParser<[number, number]> {
  return (value) => {
    const match = /^(\d+)x(\d+)$/i.exec(value.trim());
    const a = match ? Number(match[1]) : NaN;
    const b = match ? Number(match[2]) : NaN;
    if (!(a >= 1 && b >= 1 && a <= 1 << 20 && b <= 1 << 20)) throw new OptionValueError({ kind: 'expected', must, cellMust }, value);
    return [a, b];
  };
}

// ------------------------------------------------------------------------------------------------
// Messages
// ------------------------------------------------------------------------------------------------

function naturalList(values: readonly string[]): string {
  return values.length <= 3 && values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}` : `one of ${values.join(', ')}`;
}

/** The CLI's message for a refused value of `flag`. */
export function cliProblemMessage(error: OptionValueError, flag: string, schema: Pick<CommandSchema, 'quote' | 'integerWording'>): string {
  const q = (value: string): string => `${schema.quote ?? "'"}${value}${schema.quote ?? "'"}`;
  const problem = error.problem;
  const sign = (min: number): string => (min <= 0 ? 'a non-negative integer' : 'a positive integer');
  switch (problem.kind) {
    case 'notInteger':
      return schema.integerWording === 'bounds' ? `${flag} must be a whole number, got ${q(error.text)}` : `${flag} must be ${sign(problem.min)}, got ${q(error.text)}`;
    case 'range':
      if (problem.part) return `${flag}: ${problem.part} must be between ${problem.min} and ${problem.max}, got ${problem.value}`;
      if (schema.integerWording === 'bounds') {
        return problem.value < problem.min ? `${flag} must be >= ${problem.min}, got ${problem.value}` : `${flag} must be at most ${problem.max}, got ${problem.value}`;
      }
      return problem.max !== undefined && problem.value > problem.max
        ? `${flag} must be at most ${problem.max}, got ${q(error.text)}`
        : `${flag} must be ${sign(problem.min)}, got ${q(error.text)}`;
    case 'choice':
      return problem.noun
        ? `${flag}: unknown ${problem.noun} ${q(error.text)}; the ${problem.noun}s are ${problem.values.join(', ')}`
        : `${flag} must be ${naturalList(problem.values)}, got ${q(error.text)}`;
    case 'expected':
      return `${flag} must ${problem.must}, got ${q(error.text)}`;
    case 'message':
      return problem.message;
  }
}

/** A cell's message for a refused value of `key`. */
export function cellProblemMessage(error: OptionValueError, key: string): string {
  const problem = error.problem;
  switch (problem.kind) {
    case 'notInteger':
      return `${key} must be a whole number, got '${error.text}'`;
    case 'range':
      if (problem.part) return `${problem.part} must be between ${problem.min} and ${problem.max}, got ${problem.value}`;
      return problem.max === undefined ? `${key} must be >= ${problem.min}, got ${problem.value}` : `${key} must be between ${problem.min} and ${problem.max}, got ${problem.value}`;
    case 'choice':
      return `${key} must be one of ${problem.values.join(', ')}, got '${error.text}'`;
    case 'expected':
      return `${key} must ${problem.cellMust ?? problem.must}, got '${error.text}'`;
    case 'message':
      return problem.message;
  }
}

/** The closest of `candidates` to `word` when it is a likely typo (edit distance at most a third of its length, at least 1). */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(word.length / 3)) ? best.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
