#!/usr/bin/env node
// Browser layer of `npm test`: the renderer and webview bundles in Debian's headless Chromium,
// driven by playwright-core from node's test runner. Prints its own "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const files = readdirSync(path.join(root, 'test/browser')).filter((f) => f.endsWith('.test.ts')).map((f) => path.join('test/browser', f));
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
process.stdout.write(result.stdout);
const count = (name) => Number(new RegExp(`^ℹ ${name} (\\d+)`, 'm').exec(result.stdout)?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(result.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
