import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PackageManager, listFiles } from '@vscode/vsce';
import { REPO_ROOT } from '../paths';
// @ts-expect-error: a plain ES module of the build scripts, without type declarations
import { readmeForPackage } from '../../scripts/package.mjs';

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

test("the packaged README carries every image the README shows, as data: URLs (the extension page in VS Code loads only https: and data: images)", async () => {
  const markdown = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const local = readmeImages(markdown).filter((image) => !/^(https|data):/.test(image));
  assert.ok(local.length > 0, 'the README shows no image of its own');
  const packaged = readmeForPackage(markdown, REPO_ROOT);
  const images = readmeImages(packaged);
  assert.equal(images.length, readmeImages(markdown).length);
  const inlined = images.filter((image) => image.startsWith('data:'));
  assert.equal(inlined.length, local.length);
  inlined.forEach((image, i) => {
    const [, type, base64] = /^data:(image\/[a-z]+);base64,([A-Za-z0-9+/=]+)$/.exec(image) ?? [];
    assert.equal(type, 'image/png', local[i]);
    assert.ok(Buffer.from(base64, 'base64').equals(readFileSync(path.join(REPO_ROOT, local[i]))), `${local[i]}: the inlined bytes differ from the file`);
  });
  // The text around the images is unchanged.
  let next = 0;
  assert.equal(packaged.replace(/data:image\/png;base64,[A-Za-z0-9+/=]+/g, () => local[next++]), markdown);
  // Nothing the page could not show is let through.
  assert.throws(() => readmeForPackage('![x](media/missing.png)', REPO_ROOT), /image media\/missing\.png: media\/missing\.png does not exist/);
  assert.throws(() => readmeForPackage('![x](media/icon.svg)', REPO_ROOT), /image media\/icon\.svg: VS Code's extension page shows PNG, JPEG, GIF or WebP images only/);
  assert.throws(() => readmeForPackage('![x](http://example.com/a.png)', REPO_ROOT), /only https: images/);
  // The screenshots are not packaged a second time as files.
  assert.deepEqual([...(await packagedFiles())].filter((file) => file.startsWith('media/screenshots/')), []);
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
