import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { OptionError } from '../../../extension/core/optionError';
import { checkOutputPath, writeOutputFile } from '../../../extension/core/outputFile';

function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deep-accel-output-'));
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('writeOutputFile: a write that fails half-way leaves the old file as it was and no temporary file', () =>
  withDir(async (dir) => {
    const out = path.join(dir, 'y.npy');
    writeFileSync(out, 'old contents');
    await assert.rejects(
      writeOutputFile(out, async (temporary) => {
        assert.equal(path.dirname(temporary), dir);
        await writeFile(temporary, 'half of the new');
        throw new Error('disk full');
      }),
      /disk full/,
    );
    assert.equal(readFileSync(out, 'utf8'), 'old contents');
    assert.deepEqual(readdirSync(dir), ['y.npy']);
    await writeOutputFile(out, (temporary) => writeFile(temporary, 'new contents'));
    assert.equal(readFileSync(out, 'utf8'), 'new contents');
    assert.deepEqual(readdirSync(dir), ['y.npy']);
  }));

test('checkOutputPath: inputs, the format\'s extension and the folder are checked, with the label the surface uses', () =>
  withDir(async (dir) => {
    const input = path.join(dir, 'model.safetensors');
    writeFileSync(input, 'x');
    const check = { label: 'out=', inputs: [{ role: 'file', file: input }], format: { name: 'safetensors', extensions: ['.safetensors'] } };
    await assert.rejects(checkOutputPath(input, check), (error: Error) => error instanceof OptionError && /^out= .*model\.safetensors is the input file itself \(file /.test(error.message));
    await assert.rejects(checkOutputPath(path.join(dir, 'p.NPY'), check), /must end in \.safetensors/);
    await assert.rejects(checkOutputPath(path.join(dir, 'nowhere', 'p.safetensors'), check), new RegExp(`the folder ${path.join(dir, 'nowhere').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`));
    assert.equal(await checkOutputPath(path.join(dir, 'sub', '..', 'P.SafeTensors'), check), path.join(dir, 'P.SafeTensors'));
  }));
