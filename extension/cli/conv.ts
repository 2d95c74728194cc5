/**
 * deep-accel conv --input x.npy --weight w.npy [--bias b.npy] --algo A [--stride s] [--pad p]
 *                 [--layout L] [--threads T] [--check] [--json] --out y.npy
 *
 * Runs one engine algorithm on the user's own tensors: input NCHW [N,C,H,W], weight OIHW
 * [K,C,R,S], bias [K], all read as float32; writes the NCHW output [N,K,P,Q] as float32 .npy.
 */
import { OptionError } from '../core/optionError';
import { runConv } from '../core/requests/conv';
import { CONV_ALGORITHMS, type ConvAlgorithm } from '../shared/payloads';
import type { ConvRequest } from '../shared/requests';
import { PoolConvBackend } from '../workers/convBackend';
import { WorkerPool, defaultWorkerScript } from '../workers/pool';
import { integerFlag, layoutFlag, parseCommandFlags, type FlagSpec } from './bench';
import { type CliCommand, CliUsageError } from './io';

export const CONV_USAGE = `Usage: deep-accel conv --input x.npy --weight w.npy [--bias b.npy] --algo A [--stride s] [--pad p] --out y.npy

Runs one convolution algorithm of the engine on your tensors and writes the result.

  --input x.npy    input, NCHW [N,C,H,W] (any numeric dtype, computed in float32)
  --weight w.npy   weights, OIHW [K,C,R,S]
  --bias b.npy     optional bias [K]
  --algo A         ${CONV_ALGORITHMS.join(', ')}
  --stride s       stride of both axes (default 1)
  --pad p          zero padding on all four sides (default 0)
  --layout L       engine layout (default nchw); input and output files stay NCHW
  --threads T      engine worker threads (default 1)
  --check          also compute the fp64 reference and print the error
  --json           print a JSON summary
  --out y.npy      where to write the output [N,K,P,Q] (float32)
`;

const CONV_FLAGS: FlagSpec = {
  values: ['--input', '--weight', '--bias', '--algo', '--stride', '--pad', '--layout', '--threads', '--out'],
  switches: ['--check', '--json', '--help'],
};

function requireFlag(values: Map<string, string>, name: string): string {
  const value = values.get(name);
  if (value === undefined) throw new CliUsageError(`${name} is required\n\n${CONV_USAGE}`);
  return value;
}

export const convCommand: CliCommand = async (argv, io) => {
  const flags = parseCommandFlags(argv, CONV_FLAGS);
  if (flags.switches.has('--help')) {
    io.out(CONV_USAGE);
    return 0;
  }
  const inputFile = requireFlag(flags.values, '--input');
  const weightFile = requireFlag(flags.values, '--weight');
  const outFile = requireFlag(flags.values, '--out');
  const algoName = requireFlag(flags.values, '--algo');
  if (!(CONV_ALGORITHMS as readonly string[]).includes(algoName)) {
    throw new CliUsageError(`--algo must be one of ${CONV_ALGORITHMS.join(', ')}, got '${algoName}'`);
  }
  const request: ConvRequest = { input: inputFile, weight: weightFile, algo: algoName as ConvAlgorithm, out: outFile };
  const bias = flags.values.get('--bias');
  if (bias !== undefined) request.bias = bias;
  const stride = integerFlag(flags, '--stride');
  if (stride !== undefined) request.stride = stride;
  const pad = integerFlag(flags, '--pad', true);
  if (pad !== undefined) request.pad = pad;
  const layout = layoutFlag(flags);
  if (layout !== undefined) request.layout = layout;
  const threads = integerFlag(flags, '--threads') ?? 1;
  request.threads = threads;
  if (flags.switches.has('--check')) request.check = true;

  const pool = new WorkerPool(defaultWorkerScript(), { size: threads });
  let result;
  try {
    result = await runConv(request, { backend: new PoolConvBackend(pool) });
  } catch (error) {
    if (error instanceof OptionError) throw new CliUsageError(error.message);
    throw error;
  } finally {
    await pool.dispose();
  }
  if (flags.switches.has('--json')) {
    io.out(JSON.stringify(result, null, 2) + '\n');
  } else {
    const [N, K, P, Q] = result.outputShape;
    io.out(`wrote ${outFile}: [${N}, ${K}, ${P}, ${Q}] float32 (${result.algo}, ${result.layout}, ${threads} thread${threads === 1 ? '' : 's'}, ${result.ms.toFixed(3)} ms)\n`);
    if (result.maxAbsErr !== undefined && result.maxRelErr !== undefined) {
      io.out(`fp64 reference: max abs error ${result.maxAbsErr.toExponential(2)}, max rel error ${result.maxRelErr.toExponential(2)}\n`);
    }
  }
  return 0;
};
