#!/usr/bin/env node
// Builds the compute engine: dist/engine/deep-accel.simd.wasm (SIMD128) and
// dist/engine/deep-accel.relaxed.wasm (SIMD128 + relaxed-SIMD), from extension/engine/assembly.
// Step 1 regenerates assembly/generated/*.ts from the project's Winograd generator (one source of
// truth for the transform matrices); step 2 compiles both targets. Skips work whose outputs are newer
// than every input, so it is cheap to call from every build. `--force` rebuilds regardless.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const assemblyDir = join(root, 'extension', 'engine', 'assembly');
const generatedDir = join(assemblyDir, 'generated');
const outDir = join(root, 'dist', 'engine');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');

function log(message) {
  if (!quiet) console.log(`[buildEngine] ${message}`);
}

function newestMtime(paths) {
  let newest = 0;
  for (const path of paths) {
    const stats = statSync(path);
    if (stats.isDirectory()) {
      newest = Math.max(newest, newestMtime(readdirSync(path).map((name) => join(path, name))));
    } else {
      newest = Math.max(newest, stats.mtimeMs);
    }
  }
  return newest;
}

function isStale(outputs, inputs) {
  if (force || outputs.some((path) => !existsSync(path))) return true;
  const oldestOutput = Math.min(...outputs.map((path) => statSync(path).mtimeMs));
  return newestMtime(inputs.filter((path) => existsSync(path))) > oldestOutput;
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (result.status !== 0) {
    const detail = quiet ? `\n${result.stdout ?? ''}${result.stderr ?? ''}` : '';
    throw new Error(`[buildEngine] '${command} ${args.join(' ')}' failed (exit ${result.status})${detail}`);
  }
}

// Step 1: code generation from the Winograd generator.
const codegenScript = join(root, 'scripts', 'engineCodegen.ts');
const generatedFiles = ['winogradTransforms.ts', 'directKernels.ts', 'depthwiseKernels.ts'].map((name) => join(generatedDir, name));
const codegenInputs = [codegenScript, join(root, 'extension', 'core', 'winograd')];
if (existsSync(codegenScript) && isStale(generatedFiles, codegenInputs)) {
  log('generating Winograd transform kernels from generateMatrices()');
  mkdirSync(generatedDir, { recursive: true });
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  run(process.execPath, [tsx, codegenScript, generatedDir]);
}

// Step 2: compile both variants.
mkdirSync(outDir, { recursive: true });
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const config = join(assemblyDir, 'asconfig.json');
for (const target of ['simd', 'relaxed']) {
  const wasm = join(outDir, `deep-accel.${target}.wasm`);
  if (!isStale([wasm], [assemblyDir, config])) {
    log(`${relative(root, wasm)} is up to date`);
    continue;
  }
  log(`compiling ${relative(root, wasm)}`);
  run(process.execPath, [asc, join(assemblyDir, 'index.ts'), '--config', config, '--target', target]);
}
