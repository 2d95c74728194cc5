import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { detectFormat, openWeightFile, pickParser, PARSERS } from '../../../extension/core/formats/index';
import { writeSafetensors } from '../../../extension/core/formats/safetensors';
import { WeightFileError } from '../../../extension/core/formats/types';
import { tempDir } from './weightfile-helpers';

const dir = tempDir('detect');

test('content wins over a misleading extension', async () => {
  const file = path.join(dir, 'really-safetensors.npy');
  await writeSafetensors(file, [{ name: 'x', dtype: 'F32', shape: [1], data: [1] }]);
  assert.equal(await detectFormat(file), 'safetensors');
});

test('unrecognised and empty files get a WeightFileError naming the file', async () => {
  const junk = path.join(dir, 'junk.bin');
  writeFileSync(junk, 'hello, not weights');
  await assert.rejects(openWeightFile(junk), (e: unknown) => e instanceof WeightFileError && e.file === junk && /not a recognised weight file \(first bytes 68 65 6c/.test(e.message));
  const empty = path.join(dir, 'empty.safetensors');
  writeFileSync(empty, '');
  await assert.rejects(detectFormat(empty), /the file is empty/);
  await assert.rejects(detectFormat(path.join(dir, 'nope')), /file not found/);
});

test('every parser sniffs on content alone when given no file name', () => {
  const nothing = new Uint8Array(16);
  for (const parser of PARSERS) assert.equal(parser.sniff(nothing, ''), false, parser.format);
  assert.equal(pickParser(nothing, 'x.safetensors')?.format, 'safetensors');
});
