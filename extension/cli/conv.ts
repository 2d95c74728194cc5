/**
 * deep-accel conv --input x.npy --weight w.npy [--bias b.npy] --algo A [--stride s] [--pad p]
 *                 [--layout L] [--threads T] [--check] [--json] --out y.npy
 *
 * Runs one engine algorithm on the user's own tensors: input NCHW [N,C,H,W], weight OIHW
 * [K,C,R,S], bias [K], all read as float32; writes the NCHW output [N,K,P,Q] as float32 .npy.
 */
import { readNpyFloat32, writeNpy } from '../core/formats/npy';
import { compareToReference, convOutputSize, referenceConv2d, validateConvShape } from '../core/conv/reference';
import { applies } from '../engine/engine';
import { ParallelEngine } from '../workers/parallelEngine';
import { CONV_ALGORITHMS, type ConvAlgorithm, type ConvShape } from '../shared/payloads';
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

/** Reads float32 tensors from .npy; the maximum keeps one file under the engine's 1 GiB memory. */
const MAX_TENSOR_BYTES = 512 * 1024 * 1024;

function requireFlag(values: Map<string, string>, name: string): string {
  const value = values.get(name);
  if (value === undefined) throw new CliUsageError(`${name} is required\n\n${CONV_USAGE}`);
  return value;
}

async function readTensor(file: string, flag: string, rank: number, dims: string): Promise<{ shape: number[]; data: Float32Array }> {
  const tensor = await readNpyFloat32(file, { maxBytes: MAX_TENSOR_BYTES });
  if (tensor.shape.length !== rank) {
    throw new CliUsageError(`${flag} ${file}: expected a ${rank}-D array ${dims}, got shape [${tensor.shape.join(', ')}]`);
  }
  return tensor;
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
  const algo = algoName as ConvAlgorithm;
  const stride = integerFlag(flags, '--stride') ?? 1;
  const pad = integerFlag(flags, '--pad', true) ?? 0;
  const layout = layoutFlag(flags) ?? 'nchw';
  const threads = integerFlag(flags, '--threads') ?? 1;
  const biasFile = flags.values.get('--bias');

  const input = await readTensor(inputFile, '--input', 4, '[N,C,H,W]');
  const weight = await readTensor(weightFile, '--weight', 4, '[K,C,R,S]');
  const [N, C, H, W] = input.shape;
  const [K, weightC, R, S] = weight.shape;
  if (weightC !== C) {
    throw new CliUsageError(`--weight ${weightFile}: shape [${weight.shape.join(', ')}] has ${weightC} input channels, but --input ${inputFile} [${input.shape.join(', ')}] has C = ${C}`);
  }
  let bias: Float32Array | undefined;
  if (biasFile !== undefined) {
    const tensor = await readTensor(biasFile, '--bias', 1, '[K]');
    if (tensor.shape[0] !== K) throw new CliUsageError(`--bias ${biasFile}: has ${tensor.shape[0]} values, expected K = ${K} (from --weight ${weightFile})`);
    bias = tensor.data;
  }
  const shape: ConvShape = { N, C, H, W, K, R, S, stride, pad };
  try {
    validateConvShape(shape, 'convolution');
  } catch (error) {
    throw new CliUsageError(`${(error as Error).message} (--input ${inputFile}, --weight ${weightFile})`);
  }
  const verdict = applies(algo, shape, layout);
  if (!verdict.ok) throw new CliUsageError(`--algo ${algo} cannot run this convolution in ${layout}: ${verdict.reason}`);

  const pool = new WorkerPool(defaultWorkerScript(), { size: threads });
  let output: Float32Array;
  let ms: number;
  try {
    const parallel = new ParallelEngine(pool);
    const plan = parallel.plan(shape, algo, layout, threads, bias !== undefined);
    try {
      plan.setWeights(weight.data, bias);
      plan.setInput(input.data);
      ms = await parallel.run(plan, threads);
      output = plan.readOutput();
    } finally {
      plan.release();
    }
  } finally {
    await pool.dispose();
  }
  const { P, Q } = convOutputSize(shape);
  await writeNpy(outFile, [N, K, P, Q], output);

  let errors: { maxAbsErr: number; maxRelErr: number } | undefined;
  if (flags.switches.has('--check')) {
    const { maxAbsErr, maxRelErr } = compareToReference(output, referenceConv2d(input.data, weight.data, bias, shape));
    errors = { maxAbsErr, maxRelErr };
  }
  const summary = { out: outFile, algo, layout, threads, shape, outputShape: [N, K, P, Q], ms, ...errors };
  if (flags.switches.has('--json')) {
    io.out(JSON.stringify(summary, null, 2) + '\n');
  } else {
    io.out(`wrote ${outFile}: [${N}, ${K}, ${P}, ${Q}] float32 (${algo}, ${layout}, ${threads} thread${threads === 1 ? '' : 's'}, ${ms.toFixed(3)} ms)\n`);
    if (errors) io.out(`fp64 reference: max abs error ${errors.maxAbsErr.toExponential(2)}, max rel error ${errors.maxRelErr.toExponential(2)}\n`);
  }
  return 0;
};
