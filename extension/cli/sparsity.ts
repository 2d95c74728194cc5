/**
 * deep-accel sparsity FILE [--threshold T] [--json] [--histogram] [--block RxC] [--winograd M] [--nm N:M,...] [--layout L]
 *
 * Prints the per-tensor sparsity table (or the SparsityReport JSON with --json). Parser errors name
 * the file and the problem; they are printed as `deep-accel: <file>: <problem>` with exit status 2.
 */
import { WeightFileError } from '../core/formats/index';
import { OptionError } from '../core/optionError';
import { runSparsity } from '../core/requests/weightFile';
import { formatSparsityReport, formatWinogradSparsity } from '../core/sparsity/format';
import { CHOSEN_LAYOUTS, parseLayoutOverride } from '../core/sparsity/layout';
import { parseNmPatterns } from '../core/sparsity/nmPattern';
import { type CliCommand, type CliIo, CliUsageError } from './io';

export interface FlagSpec {
  /** Flags that take a value. */
  values: readonly string[];
  /** Flags that stand alone. */
  switches: readonly string[];
}

export interface ParsedArgs {
  positional: string[];
  values: Map<string, string>;
  switches: Set<string>;
}

/** --flag value, --flag=value and switches; anything unknown is a usage error. */
export function parseFlags(argv: readonly string[], spec: FlagSpec): ParsedArgs {
  const parsed: ParsedArgs = { positional: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      parsed.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-' && arg !== '-h') throw new CliUsageError(`unknown option ${arg}`);
      if (arg === '-h') parsed.switches.add('--help');
      else parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (spec.values.includes(name)) {
      const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new CliUsageError(`${name} needs a value`);
      if (parsed.values.has(name)) throw new CliUsageError(`${name} given twice`);
      parsed.values.set(name, value);
    } else if (spec.switches.includes(name)) {
      if (eq >= 0) throw new CliUsageError(`${name} takes no value`);
      parsed.switches.add(name);
    } else {
      throw new CliUsageError(`unknown option ${name}`);
    }
  }
  return parsed;
}

export function numberFlag(args: ParsedArgs, name: string, check: (v: number) => boolean, expected: string): number | undefined {
  const text = args.values.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || !check(value)) throw new CliUsageError(`${name} must be ${expected}, got '${text}'`);
  return value;
}

/** "4x4", "1x4" -> [4, 4], [1, 4]. */
export function pairFlag(args: ParsedArgs, name: string): [number, number] | undefined {
  const text = args.values.get(name);
  if (text === undefined) return undefined;
  const match = /^(\d+)x(\d+)$/i.exec(text.trim());
  const a = match ? Number(match[1]) : NaN;
  const b = match ? Number(match[2]) : NaN;
  if (!(a >= 1 && b >= 1 && a <= 1 << 20 && b <= 1 << 20)) throw new CliUsageError(`${name} must look like 4x4 (two positive integers), got '${text}'`);
  return [a, b];
}

export function singleFile(args: ParsedArgs, usage: string): string {
  if (args.positional.length !== 1) {
    throw new CliUsageError(args.positional.length === 0 ? `missing FILE\n${usage}` : `expected one FILE, got ${args.positional.length}: ${args.positional.join(' ')}`);
  }
  return args.positional[0]!;
}

/**
 * Runs `body`, which reads `file`. A parser's WeightFileError prints as `deep-accel: <file>: <problem>`
 * with exit status 2; a mistake in the options (OptionError) is a usage error; any other failure
 * while reading is still the file's problem (an internal limit or a bug met on this input), so it
 * is reported against the file, also with exit status 2, never as a usage error.
 */
export async function reportingFileErrors(io: CliIo, file: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof WeightFileError) {
      io.err(`deep-accel: ${error.message}\n`);
      return 2;
    }
    if (error instanceof OptionError) throw new CliUsageError(error.message);
    if (error instanceof CliUsageError || !(error instanceof Error)) throw error;
    io.err(`deep-accel: ${file}: could not be read: ${error.name === 'Error' ? '' : `${error.name}: `}${error.message}\n`);
    if (process.env.DEEP_ACCEL_DEBUG) io.err(`${error.stack}\n`);
    return 2;
  }
}

export const SPARSITY_USAGE = `Usage: deep-accel sparsity FILE [--threshold T] [--json] [--histogram] [--block RxC] [--winograd M] [--nm N:M,...]
                                [--layout L]

  --threshold T   count |w| <= T as zero (default 0)
  --json          print the SparsityReport JSON
  --histogram     add log10 magnitude histograms and the sparsity-against-threshold curve
  --block RxC     block shape for block sparsity over the [O, I*R*S] view (default 4x4)
  --winograd M    also report zeros of 3x3 kernels in the F(M, 3) Winograd domain (G g G^T)
  --nm N:M,...    per N:M pattern (e.g. 1:4,2:4,4:8): the share of groups of M input channels with
                  >= M-N zeros, and the share of sum |w| that N:M magnitude pruning keeps
  --layout L      the axis order to read weights in, overriding what the file suggests: one of
                  ${CHOSEN_LAYOUTS.join(', ')} for every tensor (a kernel order implies its matrix
                  order: OIHW -> OI, HWIO -> IO), or NAME=L per tensor (* matches any run), e.g.
                  conv1.weight=OIHW,fc.*=OI

The Layout column says how each tensor's axes were read, and in brackets what that rests on when
the format does not fix it: keras (the file's Keras attributes), name (weight: [O, I, H, W];
kernel: [H, W, I, O]), shape (the small kernel dimensions at one end), assumed (no evidence: the
format's usual order) or override (--layout).

2:4 % is the share of groups of 4 consecutive input channels holding at least 2 zeros (NVIDIA
ASP's m4n2_1d pattern). When the input channels are not a multiple of 4 (or of M for --nm), the
last group is padded with zeros, as ASP pads it, so a short group needs fewer zeros of its own
to comply.`;

export const sparsityCommand: CliCommand = async (argv, io) => {
  const args = parseFlags(argv, { values: ['--threshold', '--block', '--winograd', '--nm', '--layout'], switches: ['--json', '--histogram', '--help'] });
  if (args.switches.has('--help')) {
    io.out(`${SPARSITY_USAGE}\n`);
    return 0;
  }
  const file = singleFile(args, SPARSITY_USAGE);
  const threshold = numberFlag(args, '--threshold', (v) => v >= 0, 'a number >= 0') ?? 0;
  const blockSize = pairFlag(args, '--block');
  const nmText = args.values.get('--nm');
  let nm;
  try {
    nm = nmText === undefined ? undefined : parseNmPatterns(nmText);
  } catch (error) {
    throw new CliUsageError(`--nm: ${(error as Error).message}`);
  }
  const layoutText = args.values.get('--layout');
  try {
    if (layoutText !== undefined) parseLayoutOverride(layoutText);
  } catch (error) {
    throw new CliUsageError(`--layout: ${(error as Error).message}`);
  }
  const winogradM = numberFlag(args, '--winograd', (v) => Number.isInteger(v) && v >= 1 && v <= 8, 'an output tile size m from 1 to 8');
  return reportingFileErrors(io, file, async () => {
    const report = await runSparsity({ file, threshold, histogram: args.switches.has('--histogram'), ...(blockSize ? { blockSize } : {}), ...(nm ? { nm: nm.map((p) => p.name) } : {}), winograd: winogradM, ...(layoutText !== undefined ? { layout: layoutText } : {}) });
    if (args.switches.has('--json')) {
      io.out(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      io.out(formatSparsityReport(report));
      if (report.winogradDomain) io.out(`\n${formatWinogradSparsity(report.winogradDomain)}`);
    }
    return 0;
  });
};
