/**
 * The Deep Accel notebook's cell language: one command per line, `#` starts a comment.
 *
 *   winograd F(4,3) points=0,1,-1,2,-2 in=G precision=fp16 search
 *   sparsity models/x.safetensors threshold=1e-3
 *   bench resnet18 algos=im2col,winograd-4x3 threads=2
 *   help
 *
 * Parsing is pure so the controller, completion, hover and the tests share it. Arguments are
 * validated here, so a bad cell fails before any work starts, with a message naming the line.
 */
import { BENCH_SUITES, CONV_ALGORITHMS, CONV_LAYOUTS, type ConvShape, type FractionsIn, type HelpPayload, type Precision, type PruneMethod, type PruneProfile } from '../../shared/payloads';
import { parseConvShape } from '../bench/layers';
import { CHOSEN_LAYOUTS, parseLayoutOverride } from '../sparsity/layout';
import { parseNmPatterns } from '../sparsity/nmPattern';

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
  sparsity: number;
  method?: PruneMethod;
  profile?: PruneProfile;
  /** Where to write the pruned safetensors copy; without it the cell is a what-if. */
  out?: string;
  inputSize?: { height: number; width: number };
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
}

export interface CompareCellCommand {
  command: 'compare';
  a: string;
  b: string;
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
  | HelpCellCommand
) & { line: number; text: string };

export class CellSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line + 1}: ${message}`);
    this.name = 'CellSyntaxError';
  }
}

interface OptionDoc {
  name: string;
  values?: readonly string[];
  description: string;
}

interface CommandDoc {
  name: CellCommand['command'];
  usage: string;
  description: string;
  options: OptionDoc[];
}

/** The language's reference: drives `help`, completion and hover alike. */
export const CELL_COMMANDS: readonly CommandDoc[] = [
  {
    name: 'winograd',
    usage: 'winograd F(m,r) | F(mxn,rxs) [points=0,1,-1,1/2,-1/2] [in=G|A|B] [precision=fp32|fp16|bf16] [layer=C,K,H,W] [search] [finite]',
    description: 'Generate exact Winograd/Toom-Cook transforms AT, G, BT; verify them, count their cost and measure their error.',
    options: [
      { name: 'points', description: 'Finite interpolation points: integers and fractions, comma-separated.' },
      { name: 'in', values: ['G', 'A', 'B'], description: 'Which matrix absorbs the fractions (wincnn puts them in G).' },
      { name: 'precision', values: ['fp32', 'fp16', 'bf16'], description: 'The precision of interest: the point search minimises its error, and its row is highlighted in the error table (fp32, fp16 and bf16 are all measured).' },
      { name: 'search', description: 'Search for interpolation points with a lower measured error.' },
      { name: 'finite', description: 'Use only finite points (no point at infinity).' },
      { name: 'layer', description: 'A layer C,K,H,W to cost: the arithmetic reduction with the filter transform amortised over the image and the input transform over K.' },
    ],
  },
  {
    name: 'sparsity',
    usage: 'sparsity <file> [threshold=0] [nm=2:4,4:8] [layout=OIHW]',
    description:
      'Inspect a weight file (safetensors, ONNX, PyTorch, NumPy, HDF5, TFLite, GGUF, Darknet, TF.js): per-layer and structured sparsity. 2:4 counts groups of 4 input channels with at least 2 zeros (NVIDIA ASP); a last group short of 4 (or M) channels is padded with zeros, as ASP does.',
    options: [
      { name: 'threshold', description: 'A weight counts as zero when |w| <= threshold.' },
      { name: 'winograd', description: 'Also count zeros of 3x3 kernels after the F(m,3) filter transform G g Gᵀ (m from 1 to 8).' },
      { name: 'nm', description: 'N:M patterns such as 1:4,2:4,4:8: per 2-D and 4-D weight, the share of groups of M input channels with at least M-N zeros and the share of Σ|w| that N:M pruning keeps.' },
      {
        name: 'layout',
        description: `The axis order to read weights in, overriding what the file suggests (the Layout column says what each tensor was read as, and why): ${CHOSEN_LAYOUTS.join(', ')} for every tensor, or NAME=L per tensor, e.g. layout=conv1.weight=OIHW,fc.*=OI.`,
      },
    ],
  },
  {
    name: 'prune',
    usage: 'prune <file> sparsity=0.5 [method=magnitude|filter-l1] [profile=uniform|sensitivity] [input=HxW] [out=pruned.safetensors]',
    description: 'Pruning what-if: what magnitude or filter (L1) pruning to a target sparsity removes; with out=, writes a pruned safetensors copy and checks it by reading it back. The original is never modified.',
    options: [
      { name: 'sparsity', description: 'Target share of zeros in conv and linear weights, 0 <= s < 1.' },
      { name: 'method', values: ['magnitude', 'filter-l1'], description: 'Smallest |w| per tensor, or whole filters ranked by L1 norm.' },
      { name: 'profile', values: ['uniform', 'sensitivity'], description: 'The same target everywhere, or early layers less and late layers more.' },
      { name: 'input', description: 'Conv output size HxW for FLOP counts when the file has no graph.' },
      { name: 'out', description: 'Write the pruned copy here (safetensors), relative to the notebook.' },
    ],
  },
  {
    name: 'bench',
    usage: `bench <${BENCH_SUITES.join('|')}> | shape=N,C,H,W,K,R,S[,stride,pad] [algos=a,b] [layout=nchw] [threads=T] [layers=name,...] [budget=ms]`,
    description: 'Benchmark convolution algorithms on the WebAssembly SIMD engine.',
    options: [
      { name: 'algos', values: CONV_ALGORITHMS, description: 'Algorithms to run (default: every one that applies).' },
      { name: 'layout', values: CONV_LAYOUTS, description: 'Tensor layout.' },
      { name: 'threads', description: 'Worker threads (default: the number of cores).' },
      { name: 'layers', description: 'Only these layers of the suite, by name.' },
      { name: 'shape', description: 'A custom layer: N,C,H,W,K,R,S[,stride,pad].' },
      { name: 'budget', description: 'Time budget per measurement in milliseconds.' },
    ],
  },
  {
    name: 'compare',
    usage: 'compare <run-a.json> <run-b.json>',
    description: 'Compare two saved benchmark runs (.deep-accel/bench/*.json).',
    options: [],
  },
  { name: 'help', usage: 'help', description: 'List the commands of this language.', options: [] },
];

export function helpPayload(): HelpPayload {
  return { commands: CELL_COMMANDS.map(({ name, usage, description }) => ({ name, usage, description })) };
}

/** Splits a line into words, keeping quoted strings (paths with spaces) and F(...) specs whole. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(F\s*\([^)]*\))|(\S+)/g;
  for (const match of text.matchAll(pattern)) tokens.push(match[1] ?? match[2] ?? match[3] ?? match[4]);
  return tokens;
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

function splitOptions(line: number, words: string[], known: readonly OptionDoc[]) {
  const options = new Map<string, string>();
  const positional: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq > 0 && !word.startsWith('F(')) {
      const key = word.slice(0, eq);
      if (!known.some((option) => option.name === key)) {
        throw new CellSyntaxError(line, `unknown option '${key}' (known: ${known.map((o) => o.name).join(', ') || 'none'})`);
      }
      if (options.has(key)) throw new CellSyntaxError(line, `option '${key}' is given twice`);
      options.set(key, word.slice(eq + 1));
    } else positional.push(word);
  }
  return { options, positional };
}

function parsePositiveInt(line: number, name: string, value: string, max: number): number {
  if (!/^\d+$/.test(value)) throw new CellSyntaxError(line, `${name} must be a whole number, got '${value}'`);
  const n = Number(value);
  if (n < 1 || n > max) throw new CellSyntaxError(line, `${name} must be between 1 and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(line: number, name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new CellSyntaxError(line, `${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return value as T;
}

function parseLine(line: number, text: string): CellCommand | undefined {
  const words = tokenize(stripComment(text));
  if (words.length === 0) return undefined;
  const [name, ...rest] = words;
  const doc = CELL_COMMANDS.find((command) => command.name === name);
  if (!doc) {
    throw new CellSyntaxError(line, `unknown command '${name}'; commands are ${CELL_COMMANDS.map((c) => c.name).join(', ')}`);
  }
  const { options, positional } = splitOptions(line, rest, doc.options);
  const base = { line, text: text.trim() };
  switch (doc.name) {
    case 'winograd': {
      const flags = new Set<string>(positional.filter((word) => word === 'search' || word === 'finite'));
      const specs = positional.filter((word) => !flags.has(word));
      if (specs.length !== 1) throw new CellSyntaxError(line, 'winograd needs exactly one spec such as F(4,3) or F(2x2,3x3)');
      if (!/^F\s*\(/.test(specs[0])) throw new CellSyntaxError(line, `'${specs[0]}' is not a spec such as F(4,3)`);
      const points = options.get('points');
      let layer: WinogradCellCommand['layer'];
      if (options.has('layer')) {
        const parts = options.get('layer')!.split(',');
        if (parts.length !== 4) throw new CellSyntaxError(line, `layer must be C,K,H,W, got '${options.get('layer')}'`);
        const [C, K, H, W] = parts.map((part, i) => parsePositiveInt(line, ['C', 'K', 'H', 'W'][i], part.trim(), 1 << 20));
        layer = { C, K, H, W };
      }
      return {
        layer,
        ...base,
        command: 'winograd',
        spec: specs[0],
        points: points === undefined ? undefined : points.split(',').map((p) => p.trim()),
        fractionsIn: options.has('in') ? oneOf(line, 'in', options.get('in')!, ['G', 'A', 'B'] as const) : undefined,
        precision: options.has('precision')
          ? oneOf(line, 'precision', options.get('precision')!, ['fp32', 'fp16', 'bf16'] as const)
          : undefined,
        search: flags.has('search'),
        finite: flags.has('finite'),
      };
    }
    case 'sparsity': {
      if (positional.length !== 1) throw new CellSyntaxError(line, 'sparsity needs exactly one file path (quote paths with spaces)');
      const thresholdText = options.get('threshold') ?? '0';
      const threshold = Number(thresholdText);
      if (!Number.isFinite(threshold) || threshold < 0 || thresholdText.trim() === '') {
        throw new CellSyntaxError(line, `threshold must be a number >= 0, got '${thresholdText}'`);
      }
      const winograd = options.has('winograd') ? parsePositiveInt(line, 'winograd', options.get('winograd')!, 8) : undefined;
      let nm: string[] | undefined;
      try {
        nm = options.has('nm') ? parseNmPatterns(options.get('nm')!).map((p) => p.name) : undefined;
      } catch (error) {
        throw new CellSyntaxError(line, `nm: ${(error as Error).message}`);
      }
      const layout = options.get('layout');
      if (layout !== undefined) {
        try {
          parseLayoutOverride(layout);
        } catch (error) {
          throw new CellSyntaxError(line, `layout: ${(error as Error).message}`);
        }
      }
      return { ...base, command: 'sparsity', file: positional[0], threshold, ...(winograd === undefined ? {} : { winograd }), ...(nm ? { nm } : {}), ...(layout === undefined ? {} : { layout }) };
    }
    case 'prune': {
      if (positional.length !== 1) throw new CellSyntaxError(line, 'prune needs exactly one file path (quote paths with spaces)');
      const sparsityText = options.get('sparsity');
      if (sparsityText === undefined) throw new CellSyntaxError(line, 'prune needs sparsity=S, a target share of zeros such as 0.5');
      const sparsity = Number(sparsityText);
      if (sparsityText.trim() === '' || !Number.isFinite(sparsity) || sparsity < 0 || sparsity >= 1) {
        throw new CellSyntaxError(line, `sparsity must be a number with 0 <= s < 1, got '${sparsityText}'`);
      }
      let inputSize: PruneCellCommand['inputSize'];
      if (options.has('input')) {
        const match = /^(\d+)x(\d+)$/.exec(options.get('input')!);
        if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) throw new CellSyntaxError(line, `input must be HxW such as 56x56, got '${options.get('input')}'`);
        inputSize = { height: Number(match[1]), width: Number(match[2]) };
      }
      return {
        ...base,
        command: 'prune',
        file: positional[0],
        sparsity,
        method: options.has('method') ? oneOf(line, 'method', options.get('method')!, ['magnitude', 'filter-l1'] as const) : undefined,
        profile: options.has('profile') ? oneOf(line, 'profile', options.get('profile')!, ['uniform', 'sensitivity'] as const) : undefined,
        out: options.get('out'),
        inputSize,
      };
    }
    case 'bench': {
      if (positional.length > 1) throw new CellSyntaxError(line, `bench takes one suite, got ${positional.join(' ')}`);
      const suite = positional[0];
      if (suite !== undefined) oneOf(line, 'suite', suite, BENCH_SUITES);
      let shape: ConvShape | undefined;
      if (options.has('shape')) {
        try {
          shape = parseConvShape(options.get('shape')!, 'shape');
        } catch (error) {
          throw new CellSyntaxError(line, (error as Error).message);
        }
      }
      if (!suite && !shape) throw new CellSyntaxError(line, `bench needs a suite (${BENCH_SUITES.join(', ')}) or shape=N,C,H,W,K,R,S`);
      if (suite && shape) throw new CellSyntaxError(line, 'give either a suite or shape=..., not both');
      const algos = options.get('algos')?.split(',').map((a) => oneOf(line, 'algos', a.trim(), CONV_ALGORITHMS));
      return {
        ...base,
        command: 'bench',
        suite,
        shape,
        algos,
        layout: options.has('layout') ? oneOf(line, 'layout', options.get('layout')!, CONV_LAYOUTS) : undefined,
        threads: options.has('threads') ? parsePositiveInt(line, 'threads', options.get('threads')!, 256) : undefined,
        layers: options.get('layers')?.split(',').map((l) => l.trim()),
        budgetMs: options.has('budget') ? parsePositiveInt(line, 'budget', options.get('budget')!, 600_000) : undefined,
      };
    }
    case 'compare':
      if (positional.length !== 2) throw new CellSyntaxError(line, 'compare needs two saved run files');
      return { ...base, command: 'compare', a: positional[0], b: positional[1] };
    case 'help':
      if (positional.length > 0) throw new CellSyntaxError(line, 'help takes no arguments');
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
  if (commands.length === 0) throw new CellSyntaxError(0, "the cell is empty; try 'help'");
  return commands;
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
  const suggestions: CompletionSuggestion[] = doc.options.map((o) => ({
    label: o.values || !['search', 'finite'].includes(o.name) ? `${o.name}=` : o.name,
    detail: o.description,
    insertText: o.values || !['search', 'finite'].includes(o.name) ? `${o.name}=` : o.name,
    kind: 'option',
  }));
  if (doc.name === 'bench') {
    for (const suite of BENCH_SUITES) suggestions.push({ label: suite, detail: 'layer suite', insertText: suite, kind: 'value' });
  }
  if (doc.name === 'winograd') {
    for (const spec of ['F(2,3)', 'F(4,3)', 'F(6,3)', 'F(2x2,3x3)', 'F(4x4,3x3)']) {
      suggestions.push({ label: spec, detail: 'tile spec', insertText: spec, kind: 'value' });
    }
  }
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
