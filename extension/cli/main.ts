/**
 * `deep-accel`: the command-line face of the same code the extension runs.
 *   deep-accel winograd | sparsity | prune | bench | conv | model [options]   (--help on each)
 */
import { setFlagsFromString } from 'node:v8';
import { supportsRelaxedSimd } from '../core/bench/machine';
import { OptionError } from '../core/optionError';
import { type CliCommand, type CliIo, CliUsageError } from './io';

interface Subcommand {
  summary: string;
  load(): Promise<CliCommand>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  winograd: { summary: 'generate, verify, cost, measure and export Winograd/Toom-Cook transforms', load: async () => (await import('./winograd')).winogradCommand },
  sparsity: { summary: 'per-tensor and structured sparsity of a weight file', load: async () => (await import('./sparsity')).sparsityCommand },
  prune: { summary: 'write a magnitude- or filter-pruned copy of a weight file (safetensors)', load: async () => (await import('./prune')).pruneCommand },
  bench: { summary: 'benchmark convolution algorithms on the WebAssembly SIMD engine', load: async () => (await import('./bench')).benchCommand },
  conv: { summary: 'run one convolution algorithm on your own .npy tensors', load: async () => (await import('./conv')).convCommand },
  model: { summary: 'the layers of your model: shapes, parameters, FLOPs, weight sparsity and the Winograd kernels that fit', load: async () => (await import('./model')).modelCommand },
};

export function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  return [
    'Usage: deep-accel <command> [options]',
    '',
    'Commands:',
    ...Object.entries(SUBCOMMANDS).map(([name, sub]) => `  ${name.padEnd(width)}  ${sub.summary}`),
    '',
    "Every command takes --json for machine-readable output and --help for its options.",
  ].join('\n');
}

/** Runs the CLI in-process; returns the exit code (0 ok, 1 failure, 2 bad usage or input). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.out(`${(await import('../../package.json')).version}\n`);
    return 0;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub) {
    io.err(`deep-accel: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await (await sub.load())(rest, io);
  } catch (error) {
    if (error instanceof CliUsageError || error instanceof OptionError) {
      io.err(`deep-accel ${name}: ${error.message}\n`);
      return 2;
    }
    // Errors from parsers name the file and the problem; a stack would only hide that.
    const message = error instanceof Error ? error.message : String(error);
    io.err(`deep-accel ${name}: ${message}\n`);
    if (process.env.DEEP_ACCEL_DEBUG && error instanceof Error) io.err(`${error.stack}\n`);
    return error instanceof Error && error.name === 'WeightFileError' ? 2 : 1;
  }
}

const RELAXED_SIMD_FLAG = '--experimental-wasm-relaxed-simd';

/**
 * Lets the engine pick its relaxed-SIMD build (fused multiply-add), which Node 20 validates only
 * behind a V8 flag while VS Code's Electron has it on. V8's flags belong to the process, so set
 * before the first engine compile they hold in every worker thread too. A user who passes
 * `--no-experimental-wasm-relaxed-simd` to node (or in NODE_OPTIONS) keeps the SIMD128 build.
 * Returns whether relaxed SIMD now validates.
 */
export function enableRelaxedSimd(nodeOptions = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]): boolean {
  if (supportsRelaxedSimd()) return true;
  if (nodeOptions.some((option) => option.replace(/_/g, '-') === `--no-${RELAXED_SIMD_FLAG.slice(2)}`)) return false;
  setFlagsFromString(RELAXED_SIMD_FLAG);
  return supportsRelaxedSimd();
}

if (require.main === module) {
  enableRelaxedSimd();
  const io: CliIo = { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) };
  void runCli(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
