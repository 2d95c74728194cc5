import assert from 'node:assert/strict';
import { PRUNE_SCHEMA, requestFields } from '../../../../extension/core/options/commands';
import { test } from 'node:test';
import { CELL_COMMANDS, CellError, cellDiagnostics, completionsAt, hoverDoc, parseCell, tokenize } from '../../../../extension/core/notebook/cellLanguage';

test('tokenize keeps F(...) specs and quoted paths whole', () => {
  assert.deepEqual(tokenize('winograd F(4, 3) points=0,1,-1'), ['winograd', 'F(4, 3)', 'points=0,1,-1']);
  assert.deepEqual(tokenize('sparsity "my models/x.onnx" threshold=1e-3'), ['sparsity', 'my models/x.onnx', 'threshold=1e-3']);
});

test('a winograd line becomes a request with every option', () => {
  const [command] = parseCell('winograd F(6,3) points=0,1,-1,2,-2,1/2,-1/2 in=G precision=fp16 search');
  assert.deepEqual(command, {
    line: 0,
    text: 'winograd F(6,3) points=0,1,-1,2,-2,1/2,-1/2 in=G precision=fp16 search',
    command: 'winograd',
    spec: 'F(6,3)',
    points: ['0', '1', '-1', '2', '-2', '1/2', '-1/2'],
    fractionsIn: 'G',
    precision: 'fp16',
    search: true,
    finite: false,
    layer: undefined,
  });
  const [costed] = parseCell('winograd F(4,3) layer=64,64,56,56');
  assert.deepEqual(costed.command === 'winograd' && costed.layer, { C: 64, K: 64, H: 56, W: 56 });
  assert.throws(() => parseCell('winograd F(4,3) layer=64,64,56'), /line 1: layer must be C,K,H,W, got '64,64,56'/);
  assert.throws(() => parseCell('winograd F(4,3) layer=64,0,56,56'), /K must be between 1 and 1048576, got 0/);
});

test('sparsity and bench lines parse, comments and blank lines are skipped', () => {
  const commands = parseCell('# inspect\n\nsparsity models/x.safetensors threshold=1e-3  # trailing comment\nbench resnet18 algos=im2col,winograd-4x3 threads=2 layers=conv2_x budget=500\nbench shape=1,64,56,56,64,3,3,1,1\nhelp');
  assert.equal(commands.length, 4);
  assert.deepEqual(commands[0], { line: 2, text: 'sparsity models/x.safetensors threshold=1e-3  # trailing comment', command: 'sparsity', file: 'models/x.safetensors', threshold: 0.001 });
  const bench = commands[1];
  assert.equal(bench.command, 'bench');
  if (bench.command === 'bench') {
    assert.equal(bench.suite, 'resnet18');
    assert.deepEqual(bench.algos, ['im2col', 'winograd-4x3']);
    assert.equal(bench.threads, 2);
    assert.deepEqual(bench.layers, ['conv2_x']);
    assert.equal(bench.budgetMs, 500);
  }
  const custom = commands[2];
  if (custom.command === 'bench') assert.deepEqual(custom.shape, { N: 1, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, stride: 1, pad: 1 });
  assert.equal(commands[3].command, 'help');
});

test('prune and sparsity-with-Winograd lines parse', () => {
  const [prune, sparsity] = parseCell('prune models/x.safetensors sparsity=0.5 method=filter-l1 profile=sensitivity input=56x56 out=pruned.safetensors\nsparsity x.onnx winograd=4');
  assert.deepEqual(prune, {
    line: 0,
    text: 'prune models/x.safetensors sparsity=0.5 method=filter-l1 profile=sensitivity input=56x56 out=pruned.safetensors',
    command: 'prune',
    file: 'models/x.safetensors',
    sparsity: 0.5,
    method: 'filter-l1',
    profile: 'sensitivity',
    out: 'pruned.safetensors',
    inputSize: { height: 56, width: 56 },
  });
  assert.deepEqual(sparsity, { line: 1, text: 'sparsity x.onnx winograd=4', command: 'sparsity', file: 'x.onnx', threshold: 0, winograd: 4 });
});

test('a # inside a quoted path is not a comment', () => {
  const [command] = parseCell('sparsity "runs/#3/model.onnx"');
  assert.equal(command.command === 'sparsity' && command.file, 'runs/#3/model.onnx');
});

test('bad lines fail with a message naming the line and the problem', () => {
  const cases: [string, RegExp][] = [
    ['', /line 1: the cell is empty; try 'help'/],
    ['winograd', /line 1: winograd needs exactly one spec/],
    ['winograd F(4,3) F(2,3)', /exactly one spec/],
    ['winograd F(4,3) in=C', /line 1: in must be one of G, A, B, got 'C'/],
    ['winograd F(4,3) precision=fp8', /precision must be one of fp32, fp16, bf16/],
    ['help\nsparsity', /line 2: sparsity needs exactly one file path/],
    ['sparsity x.onnx threshold=-1', /threshold must be a number >= 0, got '-1'/],
    ['sparsity x.onnx threshold=abc', /threshold must be a number >= 0/],
    ['sparsity x.onnx colour=red', /unknown option 'colour' \(known: threshold, winograd, nm, layout, permute, seconds\)/],
    ['sparsity x.onnx winograd=9', /winograd must be between 1 and 8, got 9/],
    ['prune x.onnx', /prune needs sparsity=S/],
    ['prune x.onnx sparsity=1', /sparsity must be a number with 0 <= s < 1, got '1'/],
    ['prune x.onnx sparsity=0.5 method=random', /method must be one of magnitude, filter-l1, got 'random'/],
    ['prune x.onnx sparsity=0.5 input=56', /input must be HxW such as 56x56, got '56'/],
    ['bench', /bench needs a suite/],
    ['bench alexnet', /suite must be one of resnet18, resnet50, vgg16, mobilenet-v1, mobilenet-v2, resnext50, dilated, got 'alexnet'/],
    ['bench resnet18 shape=1,2,3,4,5,3,3', /give either a suite or shape/],
    ['bench shape=1,2,3', /shape must be N,C,H,W,K,R,S/],
    ['bench resnet18 algos=magic', /algos must be one of direct, im2col/],
    ['bench resnet18 threads=0', /threads must be between 1 and 256, got 0/],
    ['bench resnet18 threads=two', /threads must be a whole number, got 'two'/],
    ['bench resnet18 threads=2 threads=3', /option 'threads' is given twice/],
    ['compare a.json', /compare needs two saved run files/],
    ['help me', /help takes no arguments/],
    ['frobnicate', /line 1: unknown command 'frobnicate'; commands are winograd, sparsity, prune, bench, compare, model, help/],
  ];
  for (const [source, message] of cases) assert.throws(() => parseCell(source), message, source);
});

test('completion offers commands first, then options and values of the command', () => {
  assert.deepEqual(completionsAt('').map((c) => c.label), CELL_COMMANDS.map((c) => c.name));
  assert.deepEqual(completionsAt('wi').map((c) => c.label), CELL_COMMANDS.map((c) => c.name));
  const winograd = completionsAt('winograd ').map((c) => c.label);
  assert.ok(winograd.includes('points=') && winograd.includes('search') && winograd.includes('F(4,3)'));
  assert.deepEqual(completionsAt('winograd F(4,3) precision=').map((c) => c.label), ['fp32', 'fp16', 'bf16']);
  assert.deepEqual(completionsAt('winograd F(4,3) precision=b').map((c) => c.label), ['bf16']);
  assert.deepEqual(completionsAt('bench resnet18 algos=im2col,winograd-').map((c) => c.label), ['winograd-2x3', 'winograd-4x3', 'winograd-5x3', 'winograd-6x3', 'winograd-7x3', 'winograd-4x3s2', 'winograd-7x3s2']);
  assert.ok(completionsAt('bench ').some((c) => c.label === 'vgg16'));
  assert.deepEqual(completionsAt('nonsense '), []);
});

test('hover documents the command word and its options', () => {
  const command = hoverDoc('sparsity models/x.onnx threshold=0.1', 3);
  assert.ok(command);
  assert.match(command.markdown, /^\*\*sparsity\*\*: Inspect a weight file/);
  assert.deepEqual([command.start, command.end], [0, 8]);
  const option = hoverDoc('sparsity models/x.onnx threshold=0.1', 25);
  assert.match(option?.markdown ?? '', /\*\*threshold\*\* \(sparsity\): A weight counts as zero when \|w\| <= threshold\./);
  assert.equal(hoverDoc('sparsity models/x.onnx', 12), undefined, 'a path word is not documented');
});

test('sparsity cells take N:M patterns and refuse bad ones with the line', () => {
  const [command] = parseCell('sparsity x.safetensors nm=1:4,2:4,4:8');
  assert.deepEqual(command, { line: 0, text: 'sparsity x.safetensors nm=1:4,2:4,4:8', command: 'sparsity', file: 'x.safetensors', threshold: 0, nm: ['1:4', '2:4', '4:8'] });
  assert.throws(() => parseCell('\nsparsity x.safetensors nm=4:2'), /line 2: nm: an N:M pattern needs integers 1 <= N < M/);
});

test('sparsity cells take layout= (file-wide or NAME=L per tensor) and refuse a bad one with the line', () => {
  const [command] = parseCell('sparsity x.h5 layout=conv1.weight=OIHW,fc.*=OI');
  assert.deepEqual(command, { line: 0, text: 'sparsity x.h5 layout=conv1.weight=OIHW,fc.*=OI', command: 'sparsity', file: 'x.h5', threshold: 0, layout: 'conv1.weight=OIHW,fc.*=OI' });
  assert.throws(() => parseCell('\nsparsity x.h5 layout=NCHW'), /line 2: layout: unknown layout 'NCHW' \(choose OIHW, OHWI, HWIO, OI, IO\)/);
});

test('unknown commands and options suggest the closest known one', () => {
  assert.throws(() => parseCell('sparsty x.onnx'), /line 1: unknown command 'sparsty'; commands are .*; did you mean 'sparsity'\?$/);
  assert.throws(() => parseCell('help\nsparsity x.onnx treshold=0.1'), /line 2: unknown option 'treshold' \(known: .*\); did you mean 'threshold'\?$/);
  assert.throws(() => parseCell('bench resnet18 thraeds=2'), /did you mean 'threads'\?$/);
  // A bare word past the spec reads as a misspelt switch.
  assert.throws(() => parseCell('winograd F(4,3) serch'), { message: "line 1: unknown option 'serch'; did you mean 'search'?" });
  // Nothing close: no guess.
  assert.throws(() => parseCell('frobnicate'), (error: Error) => !/did you mean/.test(error.message));
});

test('a refused line is a CellError: the message names the line, the reason and the word at fault come apart, no class name in either', () => {
  assert.throws(
    () => parseCell('help\nbench resnet18 threads=0'),
    (error: unknown) =>
      error instanceof CellError &&
      error.line === 1 &&
      error.message === 'line 2: threads must be between 1 and 256, got 0' &&
      error.reason === 'threads must be between 1 and 256, got 0' &&
      error.word === 'threads=0',
  );
});

test('diagnostics: one per bad line, on the word at fault (else the command), with the message a run would give', () => {
  const source = ['winograd F(4,3)', '  bogus x', 'sparsity m.onnx colour=red  # a comment', '', 'bench resnet18 threads=0', 'winograd F(2,3) F(4,3)', 'prune x.onnx'].join('\n');
  const diagnostics = cellDiagnostics(source);
  assert.deepEqual(
    diagnostics.map(({ line, start, end }) => [line, start, end]),
    [
      [1, 2, 7],
      [2, 16, 26],
      [4, 15, 24],
      [5, 16, 22],
      [6, 0, 12],
    ],
  );
  assert.match(diagnostics[0].message, /^unknown command 'bogus'/);
  assert.match(diagnostics[1].message, /^unknown option 'colour'/);
  assert.equal(diagnostics[2].message, 'threads must be between 1 and 256, got 0');
  assert.match(diagnostics[3].message, /^winograd needs exactly one spec/);
  assert.match(diagnostics[4].message, /^prune needs sparsity=S/);
  // Each message is the run's own, without its "line N: " (the squiggle is on the line).
  for (const diagnostic of diagnostics) {
    assert.throws(() => parseCell(source.split('\n')[diagnostic.line]), { message: `line 1: ${diagnostic.message}` });
  }
  assert.deepEqual(cellDiagnostics('winograd F(4,3) search\n# only a comment\nsparsity "a b.onnx" nm=2:4'), []);
  // An empty cell is refused when run, not while it is being typed.
  assert.deepEqual(cellDiagnostics(''), []);
});

test('diagnostics: an option given twice is marked where it is repeated, and a word only where it stands whole', () => {
  //                        0         1         2         3
  //                        0123456789012345678901234567890123456
  assert.deepEqual(cellDiagnostics('bench resnet18 threads=2 threads=2').map(({ start, end }) => [start, end]), [[25, 34]]);
  // A quoted word is a path even when it holds '=' or is an option's name.
  assert.deepEqual(cellDiagnostics('sparsity "runs/lr=0.1.onnx" nm=2:4\nwinograd "search" F(4,3)'), [{ line: 1, start: 18, end: 24, message: 'winograd needs exactly one spec such as F(4,3) or F(2x2,3x3)' }]);
  assert.equal((parseCell('sparsity "runs/lr=0.1.onnx"')[0] as { file: string }).file, 'runs/lr=0.1.onnx');
  // The surplus word '4' also stands inside F(4,3): the mark is on the word itself.
  assert.deepEqual(cellDiagnostics('winograd F(4,3) 4').map(({ start, end }) => [start, end]), [[16, 17]]);
});

test('prune cells take nm= instead of sparsity=, and masks with nm= and out=', () => {
  const [what, copy] = parseCell('prune x.safetensors nm=2:4\nprune x.safetensors nm=4:8 masks out=y.safetensors');
  assert.deepEqual({ ...what, line: undefined, text: undefined }, { line: undefined, text: undefined, command: 'prune', file: 'x.safetensors', nm: '2:4' });
  assert.deepEqual(requestFields(PRUNE_SCHEMA, what!, 'cell'), { nm: '2:4', method: 'nm', sparsity: 0 });
  assert.deepEqual(requestFields(PRUNE_SCHEMA, copy!, 'cell'), { nm: '4:8', method: 'nm', sparsity: 0, masks: true, out: 'y.safetensors' });
  assert.throws(() => parseCell('prune x.safetensors nm=2:4 sparsity=0.5'), /line 1: nm=N:M sets the method and the sparsity .*drop sparsity=S/);
  assert.throws(() => parseCell('prune x.safetensors nm=2:4 masks'), /masks describes the copy out=OUT writes: give out=OUT/);
  assert.throws(() => parseCell('prune x.safetensors sparsity=0.5 masks out=y.safetensors'), /masks goes with nm=N:M/);
  assert.throws(() => parseCell('prune x.safetensors nm=2:4,4:8'), /nm takes one pattern such as 2:4/);
  assert.throws(() => parseCell('prune x.safetensors'), /needs sparsity=S, .* or nm=N:M/);
});

test('sparsity cells take permute=N:M with seconds= (the scan adds the pattern to the N:M patterns)', () => {
  const [command] = parseCell('sparsity x.safetensors nm=4:8 permute=2:4 seconds=2.5');
  assert.deepEqual(command, {
    line: 0,
    text: 'sparsity x.safetensors nm=4:8 permute=2:4 seconds=2.5',
    command: 'sparsity',
    file: 'x.safetensors',
    threshold: 0,
    nm: ['4:8'],
    permute: '2:4',
    permuteSeconds: 2.5,
  });
  assert.throws(() => parseCell('sparsity x.safetensors permute=2:4,4:8'), /line 1: permute takes one pattern such as 2:4/);
  assert.throws(() => parseCell('sparsity x.safetensors seconds=3'), /seconds=S goes with permute=N:M/);
  assert.throws(() => parseCell('sparsity x.safetensors permute=2:4 seconds=0'), /seconds must be a number of seconds in \(0, 86400\]/);
});

test('bench cells take maxError=X, the accuracy budget of "best"', () => {
  const [cell] = parseCell('bench mobilenet-v1 layers=dw3 maxError=4');
  assert.equal((cell as { maxErrorVsDirect?: number }).maxErrorVsDirect, 4);
  assert.throws(() => parseCell('bench mobilenet-v1 maxError=0'), /line 1: maxError must be a positive number, got '0'/);
});
