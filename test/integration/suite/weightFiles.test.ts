import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { clickInPage, pageBridgeAvailable, queryPage, screenshotPage } from '../pageBridge';
import { activeApi, EXTENSION_ID, sampleModel, TINY_CNN, waitFor, workspaceRoot } from './helpers';

function hoverText(hovers: vscode.Hover[]): string {
  return hovers.flatMap((hover) => hover.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
}

suite('weight files: custom editor, hovers, decorations', () => {
  suiteSetup(async () => {
    await activeApi();
  });

  test('the Weight Inspector custom editor opens a safetensors file and shows its statistics', async () => {
    // Other suites leave result panels open that show the same file: start from a clean editor area.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const uri = vscode.Uri.file(sampleModel());
    await vscode.commands.executeCommand('vscode.openWith', uri, 'deepAccel.weightInspector');
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.ok(tab?.input instanceof vscode.TabInputCustom, 'a custom editor tab is active');
    assert.equal((tab.input as vscode.TabInputCustom).viewType, 'deepAccel.weightInspector');
    assert.equal((tab.input as vscode.TabInputCustom).uri.fsPath, uri.fsPath);
    if (pageBridgeAvailable()) {
      const header = await queryPage('[data-deep-accel-view="weightInspector"] .da-sparsity header', { textIncludes: 'tiny-cnn.safetensors', timeoutMs: 30_000 });
      assert.match(header[0]?.text ?? '', /safetensors · 8\.3 KiB · 4 tensors · 2018 parameters · 26\.0% sparse/);
      assert.equal(header.length >= 1, true, 'the inspector shows the overall sparsity');
      const rows = await queryPage('[data-deep-accel-view="weightInspector"] .da-sparsity tbody tr', { textIncludes: 'conv2.weight' });
      assert.ok(rows.some((row) => row.text.includes('25.0%')), 'conv2.weight is listed as 25.0% sparse');
      await screenshotPage('custom-editor-weight-inspector');
    }
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('a safetensors file opens in the Weight Inspector by default; a tensor pages through its values and draws a |w| heat-map', async function () {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const uri = vscode.Uri.file(sampleModel());
    // A plain open, as a click in the explorer does: no "Open With".
    await vscode.commands.executeCommand('vscode.open', uri);
    const tab = await waitFor('the inspector tab', () => {
      const active = vscode.window.tabGroups.activeTabGroup.activeTab;
      return active?.input instanceof vscode.TabInputCustom ? active : undefined;
    });
    assert.equal((tab.input as vscode.TabInputCustom).viewType, 'deepAccel.weightInspector');
    if (!pageBridgeAvailable()) this.skip();
    const view = '[data-deep-accel-view="weightInspector"]';
    await queryPage(`${view} .da-sparsity header`, { textIncludes: '26.0% sparse', timeoutMs: 30_000 });
    assert.ok((await queryPage(`${view} input.da-filter[placeholder="Filter tensors"]`)).length >= 1, 'the filter box is there with four tensors');
    await clickInPage(`${view} .da-previewable tbody td`, { textIncludes: 'conv2.weight' });
    // The reference: conv2.weight [16, 8, 3, 3] float32 read here from the file's own header and bytes.
    const bytes = readFileSync(sampleModel());
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    const [begin, end] = header['conv2.weight']!.data_offsets;
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + headerLength + begin, bytes.byteOffset + 8 + headerLength + end));
    let zeros = 0;
    for (let o = 0; o < 16; o++) for (let i = 0; i < 8; i++) if (data[(o * 8 + i) * 9] === 0) zeros++;
    const caption = await queryPage(`${view} .da-tensor-heatmap .da-note`, { textIncludes: 'exactly zero', timeoutMs: 30_000 });
    if (caption.length === 0) {
      await screenshotPage('custom-editor-tensor-preview-failed');
      const shown = await queryPage(`${view} .da-preview`, { timeoutMs: 1000 });
      assert.fail(`no heat-map caption; the preview shows: ${shown.map((m) => m.text).join(' | ') || 'nothing'}`);
    }
    assert.match(caption[0]?.text ?? '', new RegExp(`at kernel position \\(0, 0\\) of 3×3, of 16×8; read as OIHW\\. ${zeros} of 128 exactly zero`));
    const first = await queryPage(`${view} .da-tensor-values .da-note`, { textIncludes: 'values 1–64 of 1152' });
    assert.ok(first.length >= 1, 'the first page of 64 values');
    // The bridge reports text with whitespace collapsed: "[   0]   0.123" reads "[ 0] 0.123".
    const line = (index: number) => `[ ${index}] ${Array.from(data.subarray(index, index + 8), (v) => v.toPrecision(6)).join(' ')}`;
    const values = await queryPage(`${view} .da-values`);
    assert.ok((values[0]?.text ?? '').startsWith(line(0)), `the first line is ${line(0)}; shown: ${values[0]?.text.slice(0, 200)}`);
    await clickInPage(`${view} [data-control="next"]`);
    const second = await queryPage(`${view} .da-tensor-values .da-note`, { textIncludes: 'values 65–128 of 1152' });
    assert.ok(second.length >= 1, 'Next shows the second page');
    const secondValues = await queryPage(`${view} .da-values`, { textIncludes: line(72) });
    assert.ok(secondValues.length >= 1, `the second page holds ${line(72)}`);
    await screenshotPage('custom-editor-tensor-preview');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('a broken weight file gets a clear error naming the file, and nothing crashes', async () => {
    const broken = path.join(workspaceRoot(), 'models', 'broken.safetensors');
    // A header length far past the end of this 16-byte file.
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64LE(1_000_000n, 0);
    writeFileSync(broken, bytes);
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(broken), 'deepAccel.weightInspector');
    if (pageBridgeAvailable()) {
      const alert = await queryPage('[data-deep-accel-view="weightInspector"] .da-status [role="alert"]', { textIncludes: 'broken.safetensors' });
      assert.equal(alert.length >= 1, true, 'the inspector shows an error naming the file');
    }
    const api = await activeApi();
    await assert.rejects(api.cache.summary(broken), /broken\.safetensors: .*header/);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('hovering F(4,3) in any text shows the transforms and the saving', async () => {
    const document = await vscode.workspace.openTextDocument({ content: '// use F(4, 3) for the 3x3 layers\n', language: 'typescript' });
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, new vscode.Position(0, 9));
    const text = hoverText(hovers);
    assert.match(text, /Winograd F\(4, 3\)/);
    assert.match(text, /36 instead of 144 multiplications per 2-D tile: \*\*4\.00× fewer\*\*/);
    for (const name of ['AT', 'G', 'BT']) assert.match(text, new RegExp(`\\*\\*${name}\\*\\*`));
  });

  test('hovering a string naming a weight file shows its format, parameters and sparsity', async () => {
    const api = await activeApi();
    await api.cache.report(sampleModel(), { threshold: 0 });
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(workspaceRoot(), 'code.py')));
    const line = document.getText().split('\n').findIndex((l) => l.includes('tiny-cnn.safetensors'));
    const character = document.lineAt(line).text.indexOf('tiny-cnn') + 2;
    const text = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, new vscode.Position(line, character)));
    assert.match(text, /tiny-cnn\.safetensors\*\*: safetensors, 4 tensors, 2,018 parameters/);
    assert.match(text, /25\.97% sparse/);
    if (pageBridgeAvailable()) {
      // What a user sees: the hover widget over the file name in the editor.
      const editor = await vscode.window.showTextDocument(document);
      editor.selection = new vscode.Selection(line, character, line, character);
      await vscode.commands.executeCommand('editor.action.showHover');
      const widget = await queryPage('.monaco-hover', { textIncludes: '2,018 parameters' });
      assert.ok(widget.length >= 1, 'the hover widget shows the summary');
      await screenshotPage('hover-weight-file');
    }
  });

  test('the explorer decoration of a weight file carries its sparsity badge and tooltip', async () => {
    const api = await activeApi();
    const decoration = await api.decorations.whenDecorated(vscode.Uri.file(sampleModel()));
    assert.ok(decoration, 'a decoration was computed');
    assert.equal(decoration.badge, String(Math.round((TINY_CNN.zeros / TINY_CNN.numel) * 100)));
    assert.match(decoration.tooltip ?? '', /safetensors, 4 tensors, 2,018 parameters, 26\.0% sparse/);
  });

  test('a hostile HDF5 file gets a "!" badge with the reason the metadata walk refused it', async () => {
    const api = await activeApi();
    // The corpus case: one byte makes the root group's local-heap free list a cycle (HDF5 would
    // allocate a node per lap); the walk before HDF5 refuses it.
    const root = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
    const hostile = path.join(workspaceRoot(), 'models', 'hostile.h5');
    copyFileSync(path.join(root, 'test', 'fuzz', 'corpus', 'hdf5', 'crafted-heap-free-list-cycle', 'files', 'model.h5'), hostile);
    const warning = await api.decorations.whenDecorated(vscode.Uri.file(hostile), 60_000);
    assert.equal(warning?.badge, '!');
    assert.match(warning?.tooltip ?? '', /could not read this file: .*hostile\.h5: HDF5 structure refused before the HDF5 library reads it: object '\/': the local heap at byte 680: its free list comes back/);
    assert.equal((await api.cache.summary(sampleModel())).parameters, TINY_CNN.numel);
  });

  test('an HDF5 file that HDF5 never returns from costs one worker the read time limit: "!" badge, other files badged meanwhile', async () => {
    const api = await activeApi();
    // structure_dense_root.h5 keeps its root attributes in dense storage, which the metadata walk
    // does not read; its global heap collection's first object made a free-space object of size 0,
    // so HDF5 loops inside WebAssembly on reading keras_version. Only the stall watchdog ends it.
    const root = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
    const bytes = readFileSync(path.join(root, 'test', 'fixtures', 'hdf5', 'structure_dense_root.h5'));
    const collection = bytes.indexOf('GCOL');
    assert.ok(collection > 0 && bytes.indexOf('GCOL', collection + 1) < 0, 'one global heap collection');
    bytes.fill(0, collection + 16, collection + 18);
    bytes.fill(0, collection + 24, collection + 32);
    const hostile = path.join(workspaceRoot(), 'models', 'loops.h5');
    writeFileSync(hostile, bytes);
    const other = path.join(workspaceRoot(), 'models', 'tiny-copy2.safetensors');
    copyFileSync(sampleModel(), other);
    const settings = vscode.workspace.getConfiguration('deepAccel');
    await settings.update('weights.timeoutSeconds', 4, vscode.ConfigurationTarget.Workspace);
    try {
      const started = Date.now();
      api.decorations.provideFileDecoration(vscode.Uri.file(hostile));
      const badge = await api.decorations.whenDecorated(vscode.Uri.file(other));
      assert.equal(badge?.badge, String(Math.round((TINY_CNN.zeros / TINY_CNN.numel) * 100)));
      assert.equal(api.decorations.decorationFor(vscode.Uri.file(hostile)), undefined, 'the other file did not wait for the looping one');
      const warning = await api.decorations.whenDecorated(vscode.Uri.file(hostile), 60_000);
      assert.equal(warning?.badge, '!');
      assert.match(warning?.tooltip ?? '', /loops\.h5: reading stopped after 4 s without progress \(the limit is the setting deepAccel\.weights\.timeoutSeconds\)/);
      assert.ok(Date.now() - started >= 4000, `stopped by the limit after ${Date.now() - started} ms`);
      // The stopped worker was replaced: the next read works.
      assert.equal((await api.cache.summary(sampleModel())).parameters, TINY_CNN.numel);
    } finally {
      await settings.update('weights.timeoutSeconds', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

});
