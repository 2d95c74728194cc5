#!/usr/bin/env node
// Renders the extension's icon, media/icon.svg, to the 128x128 PNG that package.json's `icon`
// names (the Marketplace and VS Code's extension list take PNG only), in Debian's headless
// Chromium through playwright-core, with a transparent background outside the rounded square.
//
// Usage: node scripts/renderIcon.mjs   (CHROMIUM_PATH overrides /usr/bin/chromium)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = path.join(repoRoot, 'media', 'icon.svg');
const TARGET = path.join(repoRoot, 'media', 'icon.png');
const SIZE = 128;

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) {
  console.error(`renderIcon: Chromium not found at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  process.exit(1);
}
const svg = fs.readFileSync(SOURCE, 'utf8');
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: SIZE, height: SIZE }, deviceScaleFactor: 1 });
  await page.setContent(`<!doctype html><html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg style="display:block;width:${SIZE}px;height:${SIZE}px" `)}</body></html>`);
  const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: SIZE, height: SIZE } });
  const partial = `${TARGET}.partial`;
  fs.writeFileSync(partial, png);
  fs.renameSync(partial, TARGET);
  console.log(`renderIcon: ${path.relative(repoRoot, TARGET)} (${SIZE}x${SIZE}, ${png.length} bytes)`);
} finally {
  await browser.close();
}
