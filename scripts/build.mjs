#!/usr/bin/env node
// The one build script: the WebAssembly engine, then every esbuild bundle (extension, CLI, worker,
// notebook renderer, webviews) and the compiled integration tests.
//   node scripts/build.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const dist = path.join(root, 'dist');
mkdirSync(dist, { recursive: true });

function runNodeScript(script, args = []) {
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${path.relative(root, script)} failed with exit code ${result.status}`);
}

// 1. The engine (AssemblyScript -> dist/engine/*.wasm).
const engineBuild = path.join(root, 'scripts/buildEngine.mjs');
if (existsSync(engineBuild)) runNodeScript(engineBuild);

// Native or optional modules stay outside the bundles: onnxruntime-node is an optional peer that the
// benchmark runner loads in a child process only when the user installed it.
const nodeExternals = ['vscode', 'onnxruntime-node', 'tsx', 'tsx/*'];

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
  legalComments: 'none',
};

const nodeBundles = [
  { entryPoints: { extension: 'extension/extension.ts' } },
  { entryPoints: { cli: 'extension/cli/main.ts' }, banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: { worker: 'extension/workers/worker.ts' } },
].map((options) => ({
  ...common,
  ...options,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outdir: dist,
  external: nodeExternals,
  // import.meta.url is used by some ESM dependencies; map it to the CommonJS file URL.
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: [path.join(root, 'scripts/importMetaUrl.js')],
}));

const browserBundles = [
  // The notebook renderer is an ES module that VS Code imports (contributes.notebookRenderer).
  { entryPoints: { renderer: 'renderer/notebookRenderer.ts' }, format: 'esm', loader: { '.css': 'text' } },
  // Webviews (results panel, weight-file editor) load a classic script under a nonce CSP.
  { entryPoints: { webview: 'renderer/webview.ts' }, format: 'iife' },
].map((options) => ({ ...common, ...options, platform: 'browser', target: 'es2022', outdir: dist }));

const bundles = [...nodeBundles, ...browserBundles].filter((options) =>
  Object.values(options.entryPoints).every((entry) => existsSync(path.join(root, entry))),
);

if (watch) {
  for (const options of bundles) await (await esbuild.context(options)).watch();
  console.log('esbuild: watching for changes');
} else {
  await Promise.all(bundles.map((options) => esbuild.build(options)));
  if (existsSync(path.join(dist, 'cli.js'))) chmodSync(path.join(dist, 'cli.js'), 0o755);
  copyFileSync(path.join(root, 'renderer/styles.css'), path.join(dist, 'styles.css'));
  // 3. Integration tests, compiled for the extension host.
  const testBuild = path.join(root, 'scripts/buildTests.mjs');
  if (existsSync(testBuild)) {
    const { buildIntegrationTests } = await import(pathToFileURL(testBuild).href);
    await buildIntegrationTests({ production });
  }
  console.log(`built ${bundles.length} bundles into ${path.relative(root, dist)}/`);
}
