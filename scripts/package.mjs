#!/usr/bin/env node
// `npm run package`: a production build, then deep-accel.vsix with @vscode/vsce.
//
// The README is the extension's page in VS Code (Extensions view, Details). That page allows only
// https: and data: images, and this extension names no public repository to link, so relative
// image paths would show as broken images. The packaged README is therefore a copy whose local
// images are inlined as data: URLs; README.md itself keeps its relative links (for the repository).
//
// Usage: node scripts/package.mjs [--out deep-accel.vsix]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IMAGE_TYPES = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp' };

/**
 * The README with every local image in Markdown `![alt](path)` form inlined as a data: URL.
 * Remote (https:) and data: images stay as they are; a missing file, an SVG (VS Code refuses SVG
 * there) or a non-https remote image is an error naming the image.
 */
export function readmeForPackage(markdown, baseDir) {
  return markdown.replace(/(!\[[^\]]*\]\()\s*<?([^)\s>]+)>?((?:\s+"[^"]*")?\s*\))/g, (whole, open, link, close) => {
    if (/^(https:|data:)/i.test(link)) return whole;
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) throw new Error(`README.md: image ${link}: only https: images or files of this repository can be shown on the extension page`);
    const file = path.resolve(baseDir, decodeURI(link));
    const type = IMAGE_TYPES[path.extname(file).toLowerCase()];
    if (!type) throw new Error(`README.md: image ${link}: VS Code's extension page shows PNG, JPEG, GIF or WebP images only`);
    if (!fs.existsSync(file)) throw new Error(`README.md: image ${link}: ${path.relative(repoRoot, file)} does not exist`);
    return `${open}data:${type};base64,${fs.readFileSync(file).toString('base64')}${close}`;
  });
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit' });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${[command, ...args].join(' ')} exited with ${result.status}`);
}

function main() {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const out = outIndex >= 0 ? args[outIndex + 1] : 'deep-accel.vsix';
  if (!out || args.length !== (outIndex >= 0 ? 2 : 0)) {
    console.error('package: usage: node scripts/package.mjs [--out deep-accel.vsix]');
    process.exit(2);
  }
  run(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs'), '--production']);
  // vsce takes the readme from among the packaged files (dist/ is packaged, README.md is not).
  const readme = path.join('dist', 'README.md');
  fs.writeFileSync(path.join(repoRoot, readme), readmeForPackage(fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8'), repoRoot));
  const vsce = path.join(repoRoot, 'node_modules', '.bin', 'vsce');
  run(vsce, ['package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--readme-path', readme, '-o', out]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(`package: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
