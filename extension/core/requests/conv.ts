/**
 * The conv request: one engine algorithm on the user's own tensors. Input NCHW [N,C,H,W], weight
 * OIHW [K,C/groups,R,S] and bias [K] are read as float32 from .npy; the NCHW output [N,K,P,Q] is written as
 * float32 .npy. An algorithm whose kernels use a blocked layout gets its input converted to that
 * layout and its output converted back, so any algorithm runs on NCHW files.
 */
import type { ConvResult, ConvShape } from '../../shared/payloads';
import type { ConvRequest } from '../../shared/requests';
import { layoutChooser } from '../conv/backend';
import { compareToReference, convOutputSize, referenceConv2d, validateConvShape } from '../conv/reference';
import { readNpyFloat32, writeNpy } from '../formats/npy';
import { OptionError } from '../optionError';
import { checkOutputPath, writeOutputFile } from '../outputFile';
import type { ComputeHooks } from './hooks';

/** The largest tensor read: one file stays under half the engine's 1 GiB memory. */
const MAX_TENSOR_BYTES = 512 * 1024 * 1024;

async function readTensor(file: string, role: string, rank: number, dims: string): Promise<{ shape: number[]; data: Float32Array }> {
  const tensor = await readNpyFloat32(file, { maxBytes: MAX_TENSOR_BYTES });
  if (tensor.shape.length !== rank) {
    throw new OptionError(`${role} ${file}: expected a ${rank}-D array ${dims}, got shape [${tensor.shape.join(', ')}]`);
  }
  return tensor;
}

export async function runConv(request: ConvRequest, hooks: ComputeHooks): Promise<ConvResult> {
  const { backend } = hooks;
  const stride = request.stride ?? 1;
  const pad = request.pad ?? 0;
  const { pads } = request;
  if (pads !== undefined && request.pad !== undefined) throw new OptionError('give either --pad or --pads, not both');
  const groups = request.groups ?? 1;
  const dilation = request.dilation ?? 1;
  const threads = request.threads ?? 1;
  const inputs = [
    { role: '--input', file: request.input },
    { role: '--weight', file: request.weight },
    ...(request.bias === undefined ? [] : [{ role: '--bias', file: request.bias }]),
  ];
  const out = await checkOutputPath(request.out, { inputs, format: { name: 'NumPy .npy', extensions: ['.npy'] } });

  const input = await readTensor(request.input, '--input', 4, '[N,C,H,W]');
  const weight = await readTensor(request.weight, '--weight', 4, '[K,C/groups,R,S]');
  const [N, C, H, W] = input.shape;
  const [K, weightC, R, S] = weight.shape;
  if (weightC * groups !== C) {
    const needed = groups === 1 ? `has C = ${C}` : `with --groups ${groups} needs C/groups = ${C % groups === 0 ? C / groups : `${C}/${groups} (not an integer)`}`;
    throw new OptionError(`--weight ${request.weight}: shape [${weight.shape.join(', ')}] has ${weightC} input channels, but --input ${request.input} [${input.shape.join(', ')}] ${needed}`);
  }
  let bias: Float32Array | undefined;
  if (request.bias !== undefined) {
    const tensor = await readTensor(request.bias, '--bias', 1, '[K]');
    if (tensor.shape[0] !== K) throw new OptionError(`--bias ${request.bias}: has ${tensor.shape[0]} values, expected K = ${K} (from --weight ${request.weight})`);
    bias = tensor.data;
  }
  const shape: ConvShape = {
    N, C, H, W, K, R, S, stride, pad: pads?.[0] ?? pad,
    ...(groups !== 1 ? { groups } : {}), ...(dilation !== 1 ? { dilation } : {}), ...(pads ? { pads } : {}),
  };
  try {
    validateConvShape(shape, 'convolution');
  } catch (error) {
    throw new OptionError(`${(error as Error).message} (--input ${request.input}, --weight ${request.weight})`);
  }
  const layout = layoutChooser(request, (algo) => backend.supportedLayouts(algo))(request.algo);
  const verdict = backend.applies(request.algo, shape, layout);
  if (!verdict.ok) throw new OptionError(`--algo ${request.algo} cannot run this convolution in ${layout}: ${verdict.reason}`);

  hooks.onProgress?.(0, `${request.algo} (${layout})`);
  const plan = backend.plan(shape, request.algo, layout, threads, bias !== undefined);
  let output: Float32Array;
  let ms: number;
  try {
    plan.setWeights(weight.data, bias);
    plan.setInput(input.data);
    ms = await backend.run(plan, threads, { signal: hooks.signal });
    output = plan.readOutput();
  } finally {
    plan.release();
  }
  const { P, Q } = convOutputSize(shape);
  const outputShape: ConvResult['outputShape'] = [N, K, P, Q];
  await writeOutputFile(out, (temporary) => writeNpy(temporary, outputShape, output));
  const result: ConvResult = { out: request.out, algo: request.algo, layout, threads, shape, outputShape, ms };
  if (request.check) {
    const { maxAbsErr, maxRelErr } = compareToReference(output, referenceConv2d(input.data, weight.data, bias, shape));
    Object.assign(result, { maxAbsErr, maxRelErr });
  }
  hooks.onProgress?.(1, 'done');
  return result;
}
