/**
 * Every file a request writes goes through here: the path is checked first (never an input nor
 * any other file an input is read from, through a symbolic or hard link either; its folder exists; its extension matches what is
 * written), then the file is written under a temporary name in the same folder and renamed into
 * place, so a failed or cancelled run leaves nothing half-written and never touches the old file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import { OptionError } from './optionError';

export interface OutputCheck {
  /** How the path was given, for messages ("--out", "out="). */
  label?: string;
  /** Files the request reads, by role ("--input", "--weight"): the output may be none of them. */
  inputs?: readonly { role: string; file: string }[];
  /** Other files the inputs are read from (shards, a TF.js .bin, a Darknet .cfg): never replaced either. */
  readFrom?: readonly string[];
  /** The format written and the extensions its files take (".safetensors"). */
  format?: { name: string; extensions: readonly string[] };
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.stat(a).catch(() => undefined), fs.stat(b).catch(() => undefined)]);
  return !!sa && !!sb && sa.dev === sb.dev && sa.ino === sb.ino;
}

/** Checks an output path before any work starts; returns it resolved. */
export async function checkOutputPath(out: string, check: OutputCheck = {}): Promise<string> {
  const label = check.label ?? '--out';
  const resolved = path.resolve(out);
  const real = await fs.realpath(resolved).catch(() => resolved);
  for (const input of check.inputs ?? []) {
    const inputResolved = path.resolve(input.file);
    const inputReal = await fs.realpath(inputResolved).catch(() => inputResolved);
    if (resolved === inputResolved || real === inputReal || (await sameFile(real, inputReal))) {
      throw new OptionError(`${label} ${out} is the input file itself (${input.role} ${input.file}); choose another path (the original is never modified)`);
    }
  }
  for (const file of check.readFrom ?? []) {
    const fileReal = await fs.realpath(file).catch(() => path.resolve(file));
    if (real === fileReal || (await sameFile(real, fileReal))) {
      throw new OptionError(`${label} ${out} is ${file}, a file the model is read from; choose another path (the model's files are never modified)`);
    }
  }
  if (check.format && !check.format.extensions.some((extension) => resolved.toLowerCase().endsWith(extension))) {
    throw new OptionError(`${label} ${out}: the output is written as ${check.format.name}, so its name must end in ${check.format.extensions.join(' or ')}`);
  }
  const folder = path.dirname(resolved);
  await fs.access(folder, fsConstants.W_OK).catch(() => {
    throw new OptionError(`${label} ${out}: the folder ${folder} does not exist or is not writable`);
  });
  return resolved;
}

/**
 * Writes `out` through `write(temporary)`: a temporary file beside it, renamed over `out` once
 * complete, removed when writing fails.
 */
export async function writeOutputFile(out: string, write: (temporary: string) => Promise<void>): Promise<void> {
  const resolved = path.resolve(out);
  const temporary = path.join(path.dirname(resolved), `.${path.basename(resolved)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
  try {
    await write(temporary);
    await fs.rename(temporary, resolved);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}
