#!/usr/bin/env node
// Compiles the integration suite for the extension host: test/integration/index.ts and every
// test/integration/suite/**/*.test.ts become CommonJS bundles under out/test/integration/, keeping
// the folder layout that index.js relies on (it loads suite/**/*.test.js next to itself).
// Bare imports stay external: `vscode` is provided by the extension host, and packages (mocha, and
// whatever the tested code uses, native or wasm-backed ones included) load from the repository's
// node_modules at run time, since out/ lives inside the repository.
//
// Used by scripts/build.mjs (`await buildIntegrationTests()`), and by the test runners when out/ is
// missing. Usage on its own: node scripts/buildTests.mjs

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const integrationSourceDir = path.join(repoRoot, 'test', 'integration');
export const integrationOutDir = path.join(repoRoot, 'out', 'test', 'integration');
/** The module VS Code is pointed at with extensionTestsPath. */
export const integrationEntry = path.join(integrationOutDir, 'index.js');

/** Absolute paths of the files under `folder` (recursively) whose names end with `suffix`, sorted. */
export function filesEndingWith(folder, suffix) {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .map((name) => path.join(folder, name))
    .sort();
}

/**
 * Bundles the integration tests; returns the list of written test entry points (relative to the repo).
 * Stale outputs are removed first, so a deleted test file does not keep running from out/.
 */
export async function buildIntegrationTests({ logLevel = 'warning' } = {}) {
  const entryPoints = [path.join(integrationSourceDir, 'index.ts'), ...filesEndingWith(path.join(integrationSourceDir, 'suite'), '.test.ts')];
  fs.rmSync(integrationOutDir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints,
    outbase: integrationSourceDir,
    outdir: integrationOutDir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel,
  });
  return entryPoints.map((file) => path.relative(repoRoot, file));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildIntegrationTests({ logLevel: 'info' });
  console.log(`integration tests compiled to ${path.relative(repoRoot, integrationOutDir)}: ${built.join(', ')}`);
}
