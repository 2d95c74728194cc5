/**
 * The Deep Accel notebook's cell language: one command per line, `#` starts a comment.
 *
 *   winograd F(4,3) points=0,1,-1,2,-2 in=G precision=fp16 search
 *   sparsity models/x.safetensors threshold=1e-3
 *   bench resnet18 algos=im2col,winograd-4x3 threads=2
 *   model models/resnet18.onnx budget=40
 *   help
 *
 * Parsing is pure so the controller, completion, hover, diagnostics and the tests share it. The
 * options and their values come from the option schemas (core/options/commands.ts), the same the
 * CLI reads; every value is validated here, so a bad cell fails before any work starts, with a
 * message naming the line.
 */
import { BENCH_SUITES, type ConvShape, type FractionsIn, type HelpPayload, type Precision, type PruneMethod, type PruneProfile } from '../../shared/payloads';
import { CELL_SCHEMAS, optionCombinationProblem } from '../options/commands';
import { type CommandSchema, OptionValueError, cellKeyOf, cellProblemMessage, choice, didYouMean } from '../options/schema';

export interface WinogradCellCommand {
  command: 'winograd';
  /** The spec as written: F(4,3), F(2x2,3x3), F(4, 3). */
  spec: string;
  points?: string[];
  fractionsIn?: FractionsIn;
  precision?: Precision;
  search: boolean;
  finite: boolean;
  /** A layer to cost: the arithmetic reduction once the transforms are amortised. */
  layer?: { C: number; K: number; H: number; W: number };
}

export interface SparsityCellCommand {
  command: 'sparsity';
  file: string;
  threshold: number;
  /** Also count zeros of 3x3 kernels in the F(winograd, 3) transform domain. */
  winograd?: number;
  /** N:M patterns to report ("2:4"). */
  nm?: string[];
  /** The user's tensor layouts ("OIHW", "conv1.weight=OIHW,fc.*=OI"), checked by parseLayoutOverride. */
  layout?: string;
}

export interface PruneCellCommand {
  command: 'prune';
  file: string;
  /** Absent with nm=, whose pattern sets the sparsity. */
  sparsity?: number;
  method?: PruneMethod;
  profile?: PruneProfile;
  /** Where to write the pruned safetensors copy; without it the cell is a what-if. */
  out?: string;
  inputSize?: { height: number; width: number };
  /** N:M pruning to this pattern ("2:4") instead of a target sparsity. */
  nm?: string;
  /** With nm and out: ASP masks beside the unchanged weights. */
  masks?: boolean;
}

export interface BenchCellCommand {
  command: 'bench';
  suite?: string;
  shape?: ConvShape;
  algos?: string[];
  layout?: string;
  threads?: number;
  layers?: string[];
  budgetMs?: number;
  maxErrorVsDirect?: number;
}

export interface CompareCellCommand {
  command: 'compare';
  a: string;
  b: string;
}

export interface ModelCellCommand {
  command: 'model';
  file: string;
  /** The first input's shape, in the file's own axis order. */
  input?: number[];
  algos?: string[];
  budgetMs?: number;
  threads?: number;
  maxErrorVsDirect?: number;
}

export interface HelpCellCommand {
  command: 'help';
}

export type CellCommand = (
  | WinogradCellCommand
  | SparsityCellCommand
  | PruneCellCommand
  | BenchCellCommand
  | CompareCellCommand
  | ModelCellCommand
  | HelpCellCommand
) & { line: number; text: string };

/**
 * What went wrong on one line of a cell, worded for the user: the message starts with the line
 * number, `reason` is the same without it (a diagnostic sits on the line already), and `word`, when
 * known, is the text on that line to underline.
 */
export class CellError extends Error {
  constructor(
    /** Zero-based. */
    readonly line: number,
    readonly reason: string,
    readonly word?: string,
    /** Which of the line's words (0 = the command) is at fault, when the same word appears more than once. */
    readonly wordIndex?: number,
  ) {
    super(`line ${line + 1}: ${reason}`);
    this.name = 'CellError';
  }
}

interface OptionDoc {
  name: string;
  values?: readonly string[];
  description: string;
  /** A bare word (search), not key=value. */
  kind: 'value' | 'switch';
}

interface CommandDoc {
  name: CellCommand['command'];
  usage: string;
  description: string;
  options: OptionDoc[];
}

/** The language's reference, read from the option schemas: drives `help`, completion and hover alike. */
export const CELL_COMMANDS: readonly CommandDoc[] = CELL_SCHEMAS.map((schema) => ({
  name: schema.name as CellCommand['command'],
  usage: schema.cellSynopsis,
  description: schema.description ?? schema.summary,
  options: schema.options.flatMap((option) => {
    const key = cellKeyOf(option);
    return key === undefined ? [] : [{ name: key, values: option.values, description: option.cellHelp ?? option.help, kind: option.kind }];
  }),
}));

/** Words after the command that are not options, with what completion offers for them. */
const POSITIONAL_SUGGESTIONS: Partial<Record<CellCommand['command'], { detail: string; values: readonly string[] }>> = {
  bench: { detail: 'layer suite', values: BENCH_SUITES },
  winograd: { detail: 'tile spec', values: ['F(2,3)', 'F(4,3)', 'F(6,3)', 'F(2x2,3x3)', 'F(4x4,3x3)'] },
};

export function helpPayload(): HelpPayload {
  return { commands: CELL_COMMANDS.map(({ name, usage, description }) => ({ name, usage, description })) };
}

/** Splits a line into words, keeping quoted strings (paths with spaces) and F(...) specs whole. */
interface WordSpan {
  text: string;
  /** Where the word stands on its line, quotes included. */
  start: number;
  end: number;
  /** A quoted word is a path, never an option, even when it holds '='. */
  quoted: boolean;
}

function wordSpans(text: string): WordSpan[] {
  const pattern = /"([^"]*)"|'([^']*)'|(F\s*\([^)]*\))|(\S+)/g;
  return [...text.matchAll(pattern)].map((match) => ({
    text: match[1] ?? match[2] ?? match[3] ?? match[4],
    start: match.index!,
    end: match.index! + match[0].length,
    quoted: match[1] !== undefined || match[2] !== undefined,
  }));
}

export function tokenize(text: string): string[] {
  return wordSpans(text).map((span) => span.text);
}

function stripComment(line: string): string {
  // A # inside quotes is part of a path, not a comment.
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#') return line.slice(0, i);
  }
  return line;
}

function schemaOf(name: CellCommand['command']): CommandSchema {
  return CELL_SCHEMAS.find((schema) => schema.name === name)!;
}

/**
 * Splits the words after the command into options (converted by the schema's parsers, keyed by
 * option name, with the schema's defaults) and positional words.
 */
function splitOptions(line: number, words: WordSpan[], schema: CommandSchema) {
  const known = schema.options.flatMap((option) => {
    const key = cellKeyOf(option);
    return key === undefined ? [] : [{ key, option }];
  });
  const values: Record<string, unknown> = {};
  for (const { option } of known) if (option.default !== undefined) values[option.name] = option.default;
  const given = new Set<string>();
  const positional: string[] = [];
  for (const [index, { text: word, quoted }] of words.entries()) {
    // The command name is word 0 of the line.
    const wordIndex = index + 1;
    const eq = word.indexOf('=');
    const isOption = !quoted && eq > 0 && !word.startsWith('F(');
    const key = isOption ? word.slice(0, eq) : word;
    const entry = known.find((candidate) => candidate.key === key);
    if (quoted || (!isOption && entry?.option.kind !== 'switch')) {
      positional.push(word);
      continue;
    }
    if (!entry || entry.option.kind !== (isOption ? 'value' : 'switch')) {
      const keys = known.map((candidate) => candidate.key);
      const guess = didYouMean(key, keys);
      throw new CellError(line, `unknown option '${key}' (known: ${keys.join(', ') || 'none'})${guess ? `; did you mean '${guess}'?` : ''}`, word, wordIndex);
    }
    if (given.has(key)) throw new CellError(line, `option '${key}' is given twice`, word, wordIndex);
    given.add(key);
    if (!isOption) {
      values[entry.option.name] = true;
      continue;
    }
    const text = word.slice(eq + 1);
    try {
      values[entry.option.name] = entry.option.parse ? entry.option.parse(text, key) : text;
    } catch (error) {
      if (error instanceof OptionValueError) throw new CellError(line, cellProblemMessage(error, key), word, wordIndex);
      throw error;
    }
  }
  return { values, positional };
}

function parseLine(line: number, text: string): CellCommand | undefined {
  const words = wordSpans(stripComment(text));
  if (words.length === 0) return undefined;
  const [{ text: name }, ...rest] = words;
  const doc = CELL_COMMANDS.find((command) => command.name === name);
  if (!doc) {
    const guess = didYouMean(name, CELL_COMMANDS.map((c) => c.name));
    throw new CellError(line, `unknown command '${name}'; commands are ${CELL_COMMANDS.map((c) => c.name).join(', ')}${guess ? `; did you mean '${guess}'?` : ''}`, name);
  }
  const schema = schemaOf(doc.name);
  const { values, positional } = splitOptions(line, rest, schema);
  const base = { line, text: text.trim() };
  // A word past those the command takes is most often a misspelt switch (serch for search).
  const surplus = (expected: number, message: string): CellError => {
    const word = positional[expected];
    const switches = schema.options.flatMap((option) => (option.kind === 'switch' ? (cellKeyOf(option) ?? []) : []));
    const guess = word === undefined ? undefined : didYouMean(word, switches);
    return guess ? new CellError(line, `unknown option '${word}'; did you mean '${guess}'?`, word) : new CellError(line, message, word);
  };
  switch (doc.name) {
    case 'winograd': {
      if (positional.length !== 1) throw surplus(1, 'winograd needs exactly one spec such as F(4,3) or F(2x2,3x3)');
      if (!/^F\s*\(/.test(positional[0])) throw new CellError(line, `'${positional[0]}' is not a spec such as F(4,3)`, positional[0]);
      return { layer: undefined, ...base, command: 'winograd', spec: positional[0], ...values } as CellCommand;
    }
    case 'sparsity':
    case 'prune':
    case 'model': {
      if (positional.length !== 1) throw surplus(1, `${doc.name} needs exactly one file path (quote paths with spaces)`);
      const problem = optionCombinationProblem(schema, values, 'cell');
      if (problem) throw new CellError(line, problem);
      return { ...base, command: doc.name, file: positional[0], ...values } as CellCommand;
    }
    case 'bench': {
      if (positional.length > 1) throw surplus(1, `bench takes one suite, got ${positional.join(' ')}`);
      const suite = positional[0];
      if (suite !== undefined) {
        try {
          choice(BENCH_SUITES)(suite, 'suite');
        } catch (error) {
          throw new CellError(line, cellProblemMessage(error as OptionValueError, 'suite'), suite);
        }
      }
      if (!suite && !values.shape) throw new CellError(line, `bench needs a suite (${BENCH_SUITES.join(', ')}) or shape=N,C,H,W,K,R,S`);
      if (suite && values.shape) throw new CellError(line, 'give either a suite or shape=..., not both');
      return { ...base, command: 'bench', suite, ...values } as CellCommand;
    }
    case 'compare':
      if (positional.length !== 2) throw surplus(2, 'compare needs two saved run files');
      return { ...base, command: 'compare', a: positional[0], b: positional[1] };
    case 'help':
      if (positional.length > 0) throw surplus(0, 'help takes no arguments');
      return { ...base, command: 'help' };
  }
}

/**
 * Parses a whole cell. Every line is checked before anything runs; a cell with a bad line runs
 * nothing, so one typo never leaves half a cell executed.
 */
export function parseCell(source: string): CellCommand[] {
  const commands: CellCommand[] = [];
  source.split(/\r?\n/).forEach((text, line) => {
    const command = parseLine(line, text);
    if (command) commands.push(command);
  });
  if (commands.length === 0) throw new CellError(0, "the cell is empty; try 'help'");
  return commands;
}

export interface CellDiagnostic {
  /** Zero-based line and the character range to mark on it. */
  line: number;
  start: number;
  end: number;
  message: string;
}

/**
 * Every problem of a cell as it is being typed, one per bad line, from the same parser that runs
 * it: the word at fault is marked when it is known, else the line's command. An empty cell is not
 * a problem until it is run.
 */
export function cellDiagnostics(source: string): CellDiagnostic[] {
  const diagnostics: CellDiagnostic[] = [];
  source.split(/\r?\n/).forEach((text, line) => {
    try {
      parseLine(line, text);
    } catch (error) {
      const code = stripComment(text);
      const spans = wordSpans(code);
      const fault = error instanceof CellError ? error : undefined;
      const span = fault?.wordIndex !== undefined ? spans[fault.wordIndex] : spans.find((candidate) => candidate.text === fault?.word);
      const [start, end] = span ? [span.start, span.end] : spans.length > 0 ? [spans[0].start, code.trimEnd().length] : [0, text.length];
      diagnostics.push({ line, start, end, message: error instanceof CellError ? error.reason : (error as Error).message });
    }
  });
  return diagnostics;
}

export interface CompletionSuggestion {
  label: string;
  detail: string;
  insertText: string;
  kind: 'command' | 'option' | 'value';
}

/** Suggestions for the text before the cursor on one line. */
export function completionsAt(linePrefix: string): CompletionSuggestion[] {
  const words = tokenize(stripComment(linePrefix));
  const startingNewWord = linePrefix.length === 0 || /\s$/.test(linePrefix);
  if (words.length === 0 || (words.length === 1 && !startingNewWord)) {
    return CELL_COMMANDS.map((c) => ({ label: c.name, detail: c.usage, insertText: c.name, kind: 'command' }));
  }
  const doc = CELL_COMMANDS.find((c) => c.name === words[0]);
  if (!doc) return [];
  const current = startingNewWord ? '' : words[words.length - 1];
  const eq = current.indexOf('=');
  if (eq > 0) {
    const option = doc.options.find((o) => o.name === current.slice(0, eq));
    const typed = current.slice(eq + 1).split(',').pop() ?? '';
    return (option?.values ?? [])
      .filter((value) => value.startsWith(typed))
      .map((value) => ({ label: value, detail: option!.description, insertText: value, kind: 'value' }));
  }
  const suggestions: CompletionSuggestion[] = doc.options.map((o) => {
    const label = o.kind === 'switch' ? o.name : `${o.name}=`;
    return { label, detail: o.description, insertText: label, kind: 'option' };
  });
  const positional = POSITIONAL_SUGGESTIONS[doc.name];
  for (const value of positional?.values ?? []) suggestions.push({ label: value, detail: positional!.detail, insertText: value, kind: 'value' });
  return suggestions;
}

/** Markdown documentation for the word under the cursor, or undefined. */
export function hoverDoc(lineText: string, character: number): { markdown: string; start: number; end: number } | undefined {
  const pattern = /[A-Za-z][\w-]*/g;
  for (const match of lineText.matchAll(pattern)) {
    const start = match.index;
    const end = start + match[0].length;
    if (character < start || character > end) continue;
    const word = match[0];
    const firstWord = /^\s*(\S+)/.exec(lineText)?.[1];
    const command = CELL_COMMANDS.find((c) => c.name === word);
    if (command && start === lineText.indexOf(firstWord ?? '')) {
      const options = command.options.map((o) => `- \`${o.name}\`: ${o.description}`).join('\n');
      return { markdown: `**${command.name}**: ${command.description}\n\n\`${command.usage}\`${options ? `\n\n${options}` : ''}`, start, end };
    }
    const owner = CELL_COMMANDS.find((c) => c.name === firstWord);
    const option = owner?.options.find((o) => o.name === word);
    if (option) {
      const values = option.values ? `\n\nValues: ${option.values.map((v) => `\`${v}\``).join(', ')}` : '';
      return { markdown: `**${option.name}** (${owner!.name}): ${option.description}${values}`, start, end };
    }
  }
  return undefined;
}
