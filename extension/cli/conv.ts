/**
 * deep-accel conv --input x.npy --weight w.npy [--bias b.npy] --algo A --out y.npy [options]
 * (the flags: CONV_SCHEMA in core/options/commands.ts)
 *
 * Runs one engine algorithm on the user's own tensors: input NCHW [N,C,H,W], weight OIHW
 * [K,C,R,S], bias [K], all read as float32; writes the NCHW output [N,K,P,Q] as float32 .npy.
 */
import { OptionError } from '../core/optionError';
import { CONV_SCHEMA } from '../core/options/commands';
import { runConv } from '../core/requests/conv';
import type { ConvRequest } from '../shared/requests';
import { PoolConvBackend } from '../workers/convBackend';
import { WorkerPool, defaultWorkerScript } from '../workers/pool';
import { type CliCommand, CliUsageError } from './io';
import { commandLine, commandUsage } from './options';

export const CONV_USAGE = commandUsage(CONV_SCHEMA);

export const convCommand: CliCommand = async (argv, io) => {
  const parsed = commandLine(CONV_SCHEMA, argv);
  if (parsed.help) {
    io.out(CONV_USAGE);
    return 0;
  }
  for (const flag of ['input', 'weight', 'out', 'algo']) {
    if (parsed.values[flag] === undefined) throw new CliUsageError(`--${flag} is required\n\n${CONV_USAGE}`);
  }
  const request = parsed.request as unknown as ConvRequest;
  const threads = request.threads ?? 1;
  const outFile = request.out;

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
  if (parsed.values.json) {
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
