import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageProblem, commandUsage, parseCommandLine } from '../../../../extension/core/options/commandLine';
import { BENCH_SCHEMA, CELL_SCHEMAS, CONV_SCHEMA, MODEL_SCHEMA, PRUNE_SCHEMA, SPARSITY_SCHEMA, WINOGRAD_SCHEMA, requestFields } from '../../../../extension/core/options/commands';
import { type CommandSchema, cellKeyOf, choice, didYouMean, flagOf, integer, list, number } from '../../../../extension/core/options/schema';
import { CELL_COMMANDS, completionsAt } from '../../../../extension/core/notebook/cellLanguage';

const SCHEMA: CommandSchema = {
  name: 'demo',
  summary: 'a demo',
  cliSynopsis: 'FILE [options]',
  cellSynopsis: 'demo <file>',
  options: [
    { name: 'tileSize', kind: 'value', parse: integer({ min: 1, max: 8 }), placeholder: 'M', help: 'the tile', defaultText: '4' },
    { name: 'mode', kind: 'value', parse: choice(['fast', 'exact'] as const), values: ['fast', 'exact'], help: 'how' },
    { name: 'items', kind: 'value', parse: list(choice(['a', 'b', 'c', 'd'] as const, 'item')), help: 'which' },
    { name: 'rate', kind: 'value', parse: number('be a number >= 0', (v) => v >= 0), help: 'how fast' },
    { name: 'dryRun', kind: 'switch', toRequest: false, help: 'write nothing' },
    { name: 'noCheck', kind: 'switch', default: false, toRequest: (v) => ({ check: !v }), help: 'skip the check' },
  ],
};

const problem = (argv: string[], options = {}): string => {
  try {
    parseCommandLine(SCHEMA, argv, options);
  } catch (error) {
    assert.ok(error instanceof UsageProblem, String(error));
    return error.message;
  }
  throw new Error(`no problem with ${argv.join(' ')}`);
};

test('flags and keys come from the option names; the schema converts every value', () => {
  assert.deepEqual(SCHEMA.options.map(flagOf), ['--tile-size', '--mode', '--items', '--rate', '--dry-run', '--no-check']);
  assert.deepEqual(SCHEMA.options.map(cellKeyOf), ['tileSize', 'mode', 'items', 'rate', 'dryRun', 'noCheck']);
  const parsed = parseCommandLine(SCHEMA, ['x.bin', '--tile-size', '6', '--mode=exact', '--items', 'a, c', '--rate', '0.5', '--dry-run', '--', '--odd-name'], { positionals: true });
  assert.deepEqual(parsed, { values: { tileSize: 6, mode: 'exact', items: ['a', 'c'], rate: 0.5, dryRun: true }, positionals: ['x.bin', '--odd-name'], help: false });
  assert.deepEqual(requestFields(SCHEMA, parsed.values, 'cli'), { tileSize: 6, mode: 'exact', items: ['a', 'c'], rate: 0.5, check: true });
  assert.equal(parseCommandLine(SCHEMA, ['-h']).help, true);
});

test('every problem names the flag, in the words of the CLI', () => {
  assert.equal(problem(['--tile-size']), '--tile-size needs a value');
  assert.equal(problem(['--tile-size', '--mode', 'fast']), '--tile-size needs a value');
  assert.equal(problem(['--tile-size', 'four']), "--tile-size must be a positive integer, got 'four'");
  assert.equal(problem(['--tile-size', '0']), "--tile-size must be a positive integer, got '0'");
  assert.equal(problem(['--tile-size', '9']), "--tile-size must be at most 8, got '9'");
  assert.equal(problem(['--mode', 'slow']), "--mode must be fast or exact, got 'slow'");
  assert.equal(problem(['--items', 'a,z']), "--items: unknown item 'z'; the items are a, b, c, d");
  assert.equal(problem(['--items', 'a,,b']), "--items: empty item in 'a,,b'");
  assert.equal(problem(['--rate', '-1']), "--rate must be a number >= 0, got '-1'");
  assert.equal(problem(['--dry-run=yes']), '--dry-run takes no value');
  assert.equal(problem(['--mode', 'fast', '--mode', 'exact']), '--mode given twice');
  assert.equal(problem(['--tilesize', '4']), 'unknown option --tilesize (did you mean --tile-size?)');
  assert.equal(problem(['--colour']), 'unknown option --colour (see deep-accel demo --help)');
  assert.equal(problem(['x.bin']), "unexpected argument 'x.bin' (options start with --; see --help)");
});

test('--help is written from the schema: placeholder, help, values and default on each line', () => {
  assert.equal(
    commandUsage(SCHEMA),
    [
      'Usage: deep-accel demo FILE [options]',
      '',
      'Options:',
      '  --tile-size M  the tile [default: 4]',
      '  --mode X       how [fast, exact]',
      '  --items X      which',
      '  --rate X       how fast',
      '  --dry-run      write nothing',
      '  --no-check     skip the check',
      '',
    ].join('\n'),
  );
});

test('--help wraps at 80 columns: long help continues under its own column, long synopses break between words', () => {
  const long: CommandSchema = {
    ...SCHEMA,
    cliSynopsis: 'FILE --first-flag VALUE [--second-flag V | --third-flag W] [--fourth] [--fifth-long-flag X] [options]',
    description: 'One sentence that is long enough to need two lines when it is wrapped at eighty columns of text.\n\nA second paragraph.',
    options: [{ name: 'tileSize', kind: 'value', placeholder: 'M', help: 'the tile size of the transform, counted in outputs along each of the two axes of the image', defaultText: '4' }],
  };
  assert.equal(
    commandUsage(long),
    [
      'Usage: deep-accel demo FILE --first-flag VALUE',
      '                       [--second-flag V | --third-flag W] [--fourth]',
      '                       [--fifth-long-flag X] [options]',
      '',
      'One sentence that is long enough to need two lines when it is wrapped at eighty',
      'columns of text.',
      '',
      'A second paragraph.',
      '',
      'Options:',
      '  --tile-size M  the tile size of the transform, counted in outputs along each',
      '                 of the two axes of the image [default: 4]',
      '',
    ].join('\n'),
  );
  for (const schema of [WINOGRAD_SCHEMA, SPARSITY_SCHEMA, PRUNE_SCHEMA, BENCH_SCHEMA, CONV_SCHEMA, MODEL_SCHEMA]) {
    const usage = commandUsage(schema);
    const tooLong = usage.split('\n').filter((line) => line.length > 80);
    assert.deepEqual(tooLong, [], `deep-accel ${schema.name} --help`);
    for (const option of schema.options) if (option.help) for (const word of option.help.split(/\s+/)) assert.ok(usage.includes(word), `${schema.name}: '${word}' of ${option.name}'s help`);
  }
});

test('the cell language is the schemas: every cell key, its values and help, in completion too', () => {
  assert.deepEqual(CELL_COMMANDS.map((c) => c.name), CELL_SCHEMAS.map((s) => s.name));
  const bench = CELL_COMMANDS.find((c) => c.name === 'bench')!;
  const keyed = BENCH_SCHEMA.options.filter((o) => cellKeyOf(o) !== undefined);
  assert.deepEqual(bench.options.map((o) => o.name), keyed.map((o) => cellKeyOf(o)));
  assert.deepEqual(bench.options.map((o) => o.description), keyed.map((o) => o.cellHelp ?? o.help));
  const offered = completionsAt('bench resnet18 ').filter((c) => c.kind === 'option').map((c) => c.label);
  assert.deepEqual(offered, keyed.map((o) => `${cellKeyOf(o)}=`));
});

test('did you mean: the nearest name within a third of the word, else nothing', () => {
  assert.equal(didYouMean('sparsty', ['winograd', 'sparsity', 'prune']), 'sparsity');
  assert.equal(didYouMean('--thresold', ['--threshold', '--json']), '--threshold');
  assert.equal(didYouMean('frobnicate', ['winograd', 'sparsity', 'prune']), undefined);
});
