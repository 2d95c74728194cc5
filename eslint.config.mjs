// ESLint flat config: typescript-eslint's recommended rules over every TypeScript source, and the
// layers of the architecture (README, "Architecture") as import rules, so that `npm test` fails
// when code reaches up or sideways:
//
//   shared/payloads, requests, webviewProtocol   types and constants; import nothing of ours
//   core/                                         pure logic: shared only (no vscode, DOM, engine, workers)
//   engine/                                       the WebAssembly engine: shared and core
//   workers/                                      pool, worker entry, task handlers: shared, core, engine
//   cli/  and  extension/*.ts                     surfaces: anything below, never each other
//   renderer/                                     browser code: payload and webview types, and itself
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import tseslint from 'typescript-eslint';

const SURFACES = ['./extension/*.ts'];
const BROWSER = ['./renderer/**'];
const layer = (name) => `./extension/${name}/**`;

/** `target` may not import from any of `from` (paths relative to the repository). */
const zone = (target, from, message) => ({ target, from, message });

const LAYER_ZONES = [
  zone(layer('shared'), [layer('core'), layer('engine'), layer('workers'), layer('cli'), ...SURFACES, ...BROWSER], 'shared/ holds payload and message types only: it imports nothing else of ours.'),
  zone(layer('core'), [layer('engine'), layer('workers'), layer('cli'), ...SURFACES, ...BROWSER], 'core/ is pure logic: it takes the engine and the pool as hooks instead of importing them.'),
  zone(layer('engine'), [layer('workers'), layer('cli'), ...SURFACES, ...BROWSER], 'engine/ sits below the workers and the surfaces.'),
  zone(layer('workers'), [layer('cli'), ...SURFACES, ...BROWSER], 'workers/ sits below the surfaces.'),
  zone(layer('cli'), [...SURFACES, ...BROWSER], 'the CLI and the VS Code surfaces share code through core/, never directly.'),
  zone(SURFACES, [layer('cli'), ...BROWSER], 'the VS Code surfaces and the CLI share code through core/, never directly.'),
];

/** Browser code sees the payload and webview message types and its own views, nothing else of the host. */
const BROWSER_ZONE = {
  target: './renderer/**',
  from: [layer('core'), layer('engine'), layer('workers'), layer('cli'), ...SURFACES, './extension/shared/requests.*'],
  message: 'browser code imports only payload types (extension/shared/payloads.ts), webview messages and view code.',
};

const NODE_ONLY = { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads'], message: 'browser code runs in a webview: no Node modules.' };
const NO_VSCODE = { name: 'vscode', message: 'only the VS Code surfaces (extension/*.ts) import vscode; everything below them runs in the CLI and the workers too.' };

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'extension/engine/assembly/**', 'test/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['extension/**/*.ts', 'renderer/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver': undefined,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: [...LAYER_ZONES, BROWSER_ZONE] }],
      // Type-only imports count too: a circle of types is still a circle of modules to read.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['extension/shared/**/*.ts', 'extension/core/**/*.ts', 'extension/engine/**/*.ts', 'extension/workers/**/*.ts', 'extension/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [NO_VSCODE] }] },
  },
  {
    files: ['renderer/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [NO_VSCODE], patterns: [NODE_ONLY] }] },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: { globals: { AbortSignal: 'readonly', performance: 'readonly', console: 'readonly', process: 'readonly', URL: 'readonly', require: 'readonly', __filename: 'readonly', __dirname: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly', Buffer: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', window: 'readonly', document: 'readonly', AbortController: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
  },
);
