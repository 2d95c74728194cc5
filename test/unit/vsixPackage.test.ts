import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PackageManager, listFiles } from '@vscode/vsce';
import { REPO_ROOT } from '../paths';

/** What `npm run package` puts in the .vsix, as vsce itself lists it (package.json, .vscodeignore). */
async function packagedFiles(): Promise<Set<string>> {
  const files = await listFiles({ cwd: REPO_ROOT, packageManager: PackageManager.None });
  return new Set(files.map((file) => file.split(path.sep).join('/')));
}

/** Every image the README shows: Markdown `![alt](src)` and HTML `<img src>`. */
function readmeImages(markdown: string): string[] {
  const markdownImages = [...markdown.matchAll(/!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]);
  const htmlImages = [...markdown.matchAll(/<img\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi)].map((match) => match[1]);
  return [...markdownImages, ...htmlImages];
}

test("the README's images are in the .vsix at the paths the README links (it is the extension's page in VS Code)", async () => {
  const files = await packagedFiles();
  const images = readmeImages(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
  assert.ok(images.length > 0, 'the README shows no image');
  for (const image of images) {
    if (/^https:\/\//.test(image)) continue;
    assert.doesNotMatch(image, /^[a-z]+:/i, `${image}: only https links or files in the package resolve on the extension page`);
    const packaged = path.posix.normalize(image.replace(/^\.\//, ''));
    assert.ok(files.has(packaged), `${image} is linked from README.md but not packaged (.vscodeignore)`);
  }
});

test('the extension has a 128x128 PNG icon, packaged', async () => {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { icon?: string };
  assert.equal(typeof manifest.icon, 'string', 'package.json has no "icon"');
  const icon = manifest.icon as string;
  assert.ok((await packagedFiles()).has(icon), `${icon} is not packaged`);
  const png = readFileSync(path.join(REPO_ROOT, icon));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${icon} is not a PNG`);
  // The first chunk is IHDR: width and height (big-endian), then bit depth and colour type (6 = RGBA).
  assert.equal(png.toString('latin1', 12, 16), 'IHDR');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20), png[25]], [128, 128, 6]);
});
