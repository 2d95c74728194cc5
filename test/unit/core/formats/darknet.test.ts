import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { detectFormat, openWeightFile } from '../../../../extension/core/formats/index';
import { WeightFileError } from '../../../../extension/core/formats/types';
import { concat, le32, tempDir, valuesByName } from './weightFileHelpers';

const dir = tempDir('darknet');

// Input 3x8x8. Hand-derived parameter counts per layer:
//  0 conv 3x3, 4 filters, BN: bias 4, scale/mean/var 4 each, weights 4*3*3*3 = 108 -> 4x8x8 (pad=1 keeps 8)
//  1 maxpool 2/2 (padding defaults to size-1 = 1): (8 + 1 - 2) / 2 + 1 = 4 -> 4x4x4
//  2 conv 1x1, 2 filters, groups=2: bias 2, weights 2*(4/2) = 4 -> 2x4x4
//  3 route -1,-3: channels 2 + 4 = 6 -> 6x4x4
//  4 conv 1x1, 2 filters: bias 2, weights 2*6 = 12 -> 2x4x4
//  5 shortcut from=-3 -> 2x4x4
//  6 upsample 2 -> 2x8x8
//  7 connected 3: bias 3, weights 3*(2*8*8) = 384
//  8 yolo
const CFG = `[net]
# a comment
height=8
width=8
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
filters=2
size=1
groups=2

[route]
layers=-1, -3

[convolutional]
filters=2
size=1 ; trailing comment

[shortcut]
from=-3

[upsample]
stride=2

[connected]
output=3

[yolo]
`;

const EXPECTED: [string, number[]][] = [
  ['layer0.conv.bias', [4]],
  ['layer0.bn.scale', [4]],
  ['layer0.bn.running_mean', [4]],
  ['layer0.bn.running_var', [4]],
  ['layer0.conv.weight', [4, 3, 3, 3]],
  ['layer2.conv.bias', [2]],
  ['layer2.conv.weight', [2, 2, 1, 1]],
  ['layer4.conv.bias', [2]],
  ['layer4.conv.weight', [2, 6, 1, 1]],
  ['layer7.fc.bias', [3]],
  ['layer7.fc.weight', [3, 128]],
];
const TOTAL = 531;

function header(major: number, minor: number, seen: number): Uint8Array {
  const wide = major * 10 + minor >= 2;
  const bytes = new Uint8Array(wide ? 20 : 16);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, major, true);
  view.setInt32(4, minor, true);
  view.setInt32(8, 0, true);
  if (wide) view.setBigInt64(12, BigInt(seen), true);
  else view.setInt32(12, seen, true);
  return bytes;
}

const floats = Array.from({ length: TOTAL }, (_, i) => i * 0.25);

test('a cfg walk assigns every float of the file to a named, shaped tensor', async () => {
  writeFileSync(path.join(dir, 'tiny.cfg'), CFG);
  const file = path.join(dir, 'tiny.weights');
  writeFileSync(file, concat(header(0, 2, 32013312), le32(floats)));
  assert.equal(await detectFormat(file), 'darknet');
  const opened = await openWeightFile(file);
  assert.deepEqual(opened.tensors.map((t) => [t.name, t.shape]), EXPECTED);
  assert.equal(opened.metadata?.seen, '32013312');
  const values = await valuesByName(opened);
  let at = 0;
  for (const [name, shape] of EXPECTED) {
    const count = shape.reduce((a, b) => a * b, 1);
    assert.deepEqual(values[name], floats.slice(at, at + count), name);
    at += count;
  }
  assert.equal(at, TOTAL);
  await opened.close();

  // Version 0.1 headers carry a 32-bit `seen`; the cfg may also be given explicitly.
  const old = path.join(dir, 'old.weights');
  writeFileSync(old, concat(header(0, 1, 7), le32(floats)));
  const opened2 = await openWeightFile(old, { companion: path.join(dir, 'tiny.cfg') });
  assert.deepEqual((await valuesByName(opened2))['layer7.fc.bias'], floats.slice(144, 147));
  assert.equal(opened2.metadata?.seen, '7');
  await opened2.close();
});

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof WeightFileError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

test('cfg and file disagreements are named errors', async () => {
  const cfg = path.join(dir, 'tiny.cfg');
  writeFileSync(cfg, CFG);
  const short = path.join(dir, 'short.weights');
  writeFileSync(short, concat(header(0, 2, 0), le32(floats.slice(0, 500))));
  await rejects(openWeightFile(short, { companion: cfg }), /is shorter than tiny\.cfg implies: 11 tensors need 2144 bytes \(header 20 \+ 531 floats\) but the file has 2020/);
  const long = path.join(dir, 'long.weights');
  writeFileSync(long, concat(header(0, 2, 0), le32([...floats, 1])));
  await rejects(openWeightFile(long, { companion: cfg }), /is longer than/);
  const orphan = path.join(dir, 'orphan.weights');
  writeFileSync(orphan, concat(header(0, 2, 0), le32(floats)));
  await rejects(openWeightFile(orphan), /needs its \.cfg: put orphan\.cfg next to it/);
  const badCfg = (name: string, text: string) => {
    writeFileSync(path.join(dir, `${name}.cfg`), text);
    return openWeightFile(orphan, { companion: path.join(dir, `${name}.cfg`) });
  };
  await rejects(badCfg('lstm', '[net]\nchannels=3\n[lstm]\noutput=4\n'), /\[lstm\] at line 3: layer type \[lstm\] is not supported/);
  await rejects(badCfg('route', '[net]\nchannels=3\n[route]\nlayers=-5\n'), /refers to layer -5, which does not precede layer 0/);
  await rejects(badCfg('groups', '[net]\nchannels=3\n[convolutional]\nfilters=4\ngroups=2\n'), /3 input channels are not divisible by groups=2/);
  await rejects(badCfg('nonet', '[convolutional]\nfilters=4\n'), /first section must be \[net\]/);
  await rejects(badCfg('junk', '[net]\nthis is not an option\n'), /line 2: expected \[section\] or key=value/);
  await rejects(badCfg('nan', '[net]\n[convolutional]\nfilters=many\n'), /filters=many is not an integer/);
});

test('a cfg that leaves a layer with fewer than one channel is refused, not read as a negative-size tensor', async () => {
  // channels=-1 and a 1x1 conv of 4 filters: bias 4 + weight 4*(-1) = 0 floats, so a header-only
  // file matched the byte count and a -4-element tensor was handed to the statistics.
  const weights = path.join(dir, 'negative.weights');
  writeFileSync(weights, header(0, 2, 0));
  const cases: [string, string, RegExp][] = [
    ['minus', '[net]\nchannels=-1\n[convolutional]\nfilters=4\nsize=1\n', /\[net\] at line 1: channels=-1 is out of range/],
    ['zero', '[net]\nchannels=0\n[convolutional]\nfilters=4\nsize=1\n', /\[net\] at line 1: channels=0 is out of range/],
    // reorg reverse with stride 4 divides 3 channels by 16: none left for the next conv.
    ['reorg', '[net]\nchannels=3\n[reorg]\nstride=4\nreverse=1\n[convolutional]\nfilters=4\nsize=1\n', /\[convolutional\] at line 6: layer1\.conv\.weight would have shape \[4, 0, 1, 1\]/],
    ['height', '[net]\nchannels=3\nheight=-2\nwidth=-2\n[connected]\noutput=2\n', /height=-2 is out of range/],
  ];
  for (const [name, text, pattern] of cases) {
    const cfg = path.join(dir, `${name}-negative.cfg`);
    writeFileSync(cfg, text);
    await assert.rejects(openWeightFile(weights, { companion: cfg }), (e: unknown) => {
      assert.ok(e instanceof WeightFileError, String(e));
      assert.equal(e.file, cfg);
      assert.match(e.message, pattern);
      return true;
    });
  }
});
