import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseCell } from '../../../../extension/core/notebook/cellLanguage';
import { type CellContext, executeCell, executeCellCommand, plainSummary, resolveCellPath } from '../../../../extension/core/notebook/executeCell';
import type { BenchReport } from '../../../../extension/shared/payloads';
import type { WorkerTaskKind } from '../../../../extension/workers/protocol';
import { taskHandlers } from '../../../../extension/workers/handlers';
import { SAMPLES_DIR } from '../../../paths';

/** Runs tasks on this thread with the real handlers, recording what was asked. */
function context(folder: string, calls: { task: WorkerTaskKind; args: unknown }[] = []): CellContext {
  return {
    searchFolders: [folder],
    runner: {
      run: async (task, args) => {
        calls.push({ task, args });
        const handler = taskHandlers[task] as unknown as (a: unknown, c: { progress(): void; signal: AbortSignal }) => Promise<never>;
        return handler(args, { progress: () => undefined, signal: new AbortController().signal });
      },
    },
    runBench: async () => ({ machine: { cpu: 'x', cores: 1, simd: 'simd128', node: 'v20', platform: 'linux' }, results: [] }),
  };
}

const samples = SAMPLES_DIR;

test('a winograd cell asks the worker for the spec (square 2-D nesting is F(m,r)), its options, and no exports (the renderer asks for one when its tab opens)', async () => {
  const calls: { task: WorkerTaskKind; args: unknown }[] = [];
  const [command] = parseCell('winograd F(2x2, 3x3) points=0,1,-1 in=G precision=fp16');
  const payload = await executeCellCommand(command, context(samples, calls));
  assert.equal(payload.kind, 'winograd');
  assert.deepEqual(calls[0], {
    task: 'winograd',
    args: { m: 2, r: 3, points: ['0', '1', '-1'], fractionsIn: 'G', precision: 'fp16', infinity: true, search: false, layer: undefined, compareTileSizes: true },
  });
  if (payload.kind === 'winograd') {
    assert.deepEqual(payload.data.G, [['1', '0', '0'], ['1/2', '1/2', '1/2'], ['1/2', '-1/2', '1/2'], ['0', '0', '1']]);
    assert.equal(plainSummary(payload), 'F(2,3) alpha=4 points=0,1,-1 verified=true saving=2.25x');
    // The output is saved with the notebook: 8.2 KiB, and the six exports would add 14 KiB more.
    assert.equal(payload.data.exports, undefined);
    assert.ok(JSON.stringify(payload.data).length < 12 * 1024, `${JSON.stringify(payload.data).length} bytes`);
  }
});

test('a sparsity cell resolves the path against the notebook folder and scans the file', async () => {
  const [command] = parseCell('sparsity models/tiny-cnn.safetensors');
  const payload = await executeCellCommand(command, context(samples));
  assert.equal(payload.kind, 'sparsity');
  if (payload.kind === 'sparsity') {
    assert.equal(payload.data.total.zeros, 524);
    assert.equal(payload.data.total.numel, 2018);
    assert.match(plainSummary(payload), /tiny-cnn\.safetensors: safetensors, 4 tensors, 2018 parameters, 25\.97% sparse$/);
  }
});

test('a prune cell: the what-if removes exactly the hand-counted weights; out= writes a verified copy and leaves the original alone', async () => {
  // tiny-cnn (scripts/makeSamples.ts): conv1 216 weights with 108 zeros, conv2 1152 with 288, fc 640
  // with 128; the bias is not pruned. 50% per tensor: conv1 keeps its 108 zeros, conv2 needs 576
  // (288 more), fc needs 320 (192 more): 480 removed, 108 + 576 + 320 = 1004 zeros of 2018 after.
  const folder = mkdtempSync(path.join(tmpdir(), 'deep-accel-prune-'));
  const model = path.join(samples, 'models', 'tiny-cnn.safetensors');
  const before = readFileSync(model);
  const whatIf = await executeCellCommand(parseCell(`prune "${model}" sparsity=0.5`)[0], context(folder));
  assert.equal(whatIf.kind, 'prune');
  if (whatIf.kind !== 'prune') return;
  assert.equal(whatIf.data.total.paramsRemoved, 480);
  assert.equal(whatIf.data.total.modelSparsityAfter, 1004 / 2018);
  assert.equal(whatIf.data.export, undefined);
  const written = await executeCellCommand(parseCell(`prune "${model}" sparsity=0.5 out=pruned.safetensors`)[0], context(folder));
  if (written.kind !== 'prune') return assert.fail('not a prune payload');
  assert.equal(written.data.export?.out, path.join(folder, 'pruned.safetensors'));
  assert.equal(written.data.export?.verified, true);
  assert.ok(existsSync(path.join(folder, 'pruned.safetensors')));
  assert.deepEqual(readFileSync(model), before, 'the original is unchanged');
  assert.match(plainSummary(written), /magnitude pruning to 50\.0% removes 480 parameters; model 49\.75% sparse after; wrote .*pruned\.safetensors \(verified\)$/);
});

test('a missing file names every folder it was looked for in', () => {
  assert.throws(() => resolveCellPath('models/none.onnx', ['/a', '/b']), /models\/none\.onnx: no such file \(looked in \/a, \/b\)/);
  assert.throws(() => resolveCellPath('/definitely/not/here.onnx', []), /\/definitely\/not\/here\.onnx: no such file/);
});

test('compare reads two saved runs and rejects a file that is not one', async () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'deep-accel-compare-'));
  const run: BenchReport = { machine: { cpu: 'x', cores: 2, simd: 'simd128', node: 'v20', platform: 'linux' }, results: [] };
  writeFileSync(path.join(folder, 'before.json'), JSON.stringify(run));
  writeFileSync(path.join(folder, 'after.json'), JSON.stringify(run));
  writeFileSync(path.join(folder, 'junk.json'), '{"hello": 1}');
  const payload = await executeCellCommand(parseCell('compare before.json after.json')[0], context(folder));
  assert.equal(payload.kind, 'benchCompare');
  if (payload.kind === 'benchCompare') assert.deepEqual([payload.data.a.label, payload.data.b.label], ['before', 'after']);
  await assert.rejects(executeCellCommand(parseCell('compare before.json junk.json')[0], context(folder)), /junk\.json: not a saved benchmark run: no "machine" object/);
});

test('help lists the language', async () => {
  const payload = await executeCellCommand(parseCell('help')[0], context(samples));
  assert.equal(payload.kind, 'help');
  if (payload.kind === 'help') assert.deepEqual(payload.data.commands.map((c) => c.name), ['winograd', 'sparsity', 'prune', 'bench', 'compare', 'model', 'help']);
});

test('a winograd cell takes trials=N for its error table (0 skips it), as the CLI takes --trials', async () => {
  const calls: { task: WorkerTaskKind; args: unknown }[] = [];
  const [command] = parseCell('winograd F(2,3) trials=0');
  const payload = await executeCellCommand(command, context(samples, calls));
  assert.equal((calls[0].args as { errorTrials?: number }).errorTrials, 0);
  assert.ok(payload.kind === 'winograd' && payload.data.error.length === 0, 'no error rows with 0 trials');
  const [measured] = parseCell('winograd F(2,3) trials=50');
  const data = await executeCellCommand(measured, context(samples));
  assert.ok(data.kind === 'winograd' && data.data.error.length > 0 && data.data.error.every((row) => row.trials === 50));
  assert.throws(() => parseCell('winograd F(2,3) trials=2000000'), /line 1: trials must be between 0 and 1000000, got 2000000/);
});

test('a missing file lists each folder once, and names the closest file there when it is a likely typo', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'deep-accel-cell-paths-'));
  try {
    mkdirSync(path.join(dir, 'models'));
    writeFileSync(path.join(dir, 'models', 'tiny-cnn.safetensors'), '');
    writeFileSync(path.join(dir, 'models', 'other.onnx'), '');
    // The notebook's folder is also the workspace folder: looked in once.
    assert.throws(
      () => resolveCellPath('models/tiny-cnn.safetensor', [dir, `${dir}${path.sep}`, dir]),
      { message: `models/tiny-cnn.safetensor: no such file (looked in ${dir}); did you mean '${path.join('models', 'tiny-cnn.safetensors')}'?` },
    );
    assert.throws(() => resolveCellPath(path.join(dir, 'models', 'other.onx'), []), { message: `${path.join(dir, 'models', 'other.onx')}: no such file; did you mean '${path.join(dir, 'models', 'other.onnx')}'?` });
    // Nothing close, or no such folder: no guess.
    assert.throws(() => resolveCellPath('models/resnet50.onnx', [dir]), { message: `models/resnet50.onnx: no such file (looked in ${dir})` });
    assert.throws(() => resolveCellPath('nowhere/x.onnx', [dir]), { message: `nowhere/x.onnx: no such file (looked in ${dir})` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a whole cell runs line by line; a failure while running names its line, and the outputs before it stay', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'deep-accel-cell-run-'));
  try {
    writeFileSync(path.join(dir, 'not-weights.safetensors'), 'this is not a safetensors file');
    const outputs: string[] = [];
    const started: number[] = [];
    const run = (source: string) =>
      executeCell(source, context(dir), { started: (command) => started.push(command.line), output: (payload) => void outputs.push(payload.kind) });
    await assert.rejects(run('help\n\n# the next line names a file that is not there\nsparsity none.onnx'), {
      name: 'CellError',
      message: `line 4: none.onnx: no such file (looked in ${dir})`,
    });
    assert.deepEqual(outputs, ['help']);
    assert.deepEqual(started, [0, 3]);
    // A failure inside the worker task (the parser refusing the file) gets its line too.
    await assert.rejects(run('help\nsparsity not-weights.safetensors'), (error: Error) => /^line 2: /.test(error.message) && !/WeightFileError|WorkerTaskError/.test(error.message));
    // A syntax error anywhere stops the cell before anything runs.
    outputs.length = 0;
    await assert.rejects(run('help\nhelp me'), { message: 'line 2: help takes no arguments' });
    assert.deepEqual(outputs, []);
    // A cancellation stays a cancellation.
    const cancelled: CellContext = { ...context(dir), runBench: async () => Promise.reject(Object.assign(new Error('stopped'), { name: 'AbortError' })) };
    await assert.rejects(executeCell('bench resnet18', cancelled, { output: () => undefined }), { name: 'AbortError' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model cell: its keys come from the model schema, the path resolves against the notebook folder and the cache goes to the workspace', async () => {
  const calls: { task: WorkerTaskKind; args: unknown }[] = [];
  const fixtures = path.join(SAMPLES_DIR, '..', 'test', 'fixtures');
  const [command] = parseCell('model onnx/small_cnn.onnx input=1,3,32,32 algos=im2col budget=40 threads=1 maxError=4');
  const payload = await executeCellCommand(command, { ...context(fixtures, calls), workspace: '/work/ws', allowTiming: false });
  assert.deepEqual(calls[0], {
    task: 'model',
    args: { input: [1, 3, 32, 32], algos: ['im2col'], budgetMs: 40, threads: 1, maxErrorVsDirect: 4, file: path.join(fixtures, 'onnx', 'small_cnn.onnx'), workspace: '/work/ws', time: false },
  });
  assert.equal(payload.kind, 'model');
  if (payload.kind === 'model') {
    assert.deepEqual(payload.data.layers.map((l) => l.name), ['c1', 'c2', 'c3', 'logits', 'y']);
    assert.equal(payload.data.total.params, 1712);
    assert.match(payload.data.notes.join('\n'), /not timed: the engine runs only in a trusted workspace/);
    assert.match(plainSummary(payload), /small_cnn\.onnx: onnx, 5 layers, 1712 parameters, 608656 FLOPs$/);
  }
  assert.throws(() => parseCell('model a.onnx input=1,3,x'), /line 1: .*input/);
  assert.throws(() => parseCell('model a.onnx maxErr=3'), /unknown option 'maxErr'.*did you mean 'maxError'/);
});
