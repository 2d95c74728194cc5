import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { pageBridgeAvailable, queryPage, screenshotPage } from '../pageBridge';

const EXTENSION_ID = 'deep-accel.deep-accel';

interface ContributedCommand {
  command: string;
}

suite('smoke: extension loads in VS Code', () => {
  test('the extension is present and activates', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not among the loaded extensions (extensionDevelopmentPath wrong?)`);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  test('every deepAccel.* command in package.json is registered after activation', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension);
    await extension.activate();
    const contributed = ((extension.packageJSON.contributes?.commands ?? []) as ContributedCommand[]).map((entry) => entry.command);
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    for (const command of contributed) assert.match(command, /^deepAccel\./, `contributed command ${command} lacks the deepAccel. prefix`);

    const registered = new Set((await vscode.commands.getCommands(true)).filter((command) => command.startsWith('deepAccel.')));
    const missing = contributed.filter((command) => !registered.has(command));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  test('the browser page shows what the extension host opened (page bridge)', async function () {
    if (!pageBridgeAvailable()) this.skip();
    // A text no other part of the workbench could contain, so finding it proves the DOM query
    // reaches the editor the extension host just opened.
    const marker = `deep-accel-bridge-probe-${randomBytes(6).toString('hex')}`;
    const document = await vscode.workspace.openTextDocument({ content: marker, language: 'plaintext' });
    await vscode.window.showTextDocument(document);
    const withMarker = await queryPage('.monaco-editor .view-line', { textIncludes: marker, timeoutMs: 20_000 });
    assert.equal(withMarker.length, 1, `expected one editor line showing ${marker}, found ${withMarker.length}`);
    await screenshotPage('smoke-editor');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});

suite('smoke: page bridge reaches notebook outputs', () => {
  test('an HTML output of a saved .ipynb, rendered in the notebook webview, is visible to queryPage', async function () {
    if (!pageBridgeAvailable()) this.skip();
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the test window has no workspace folder');
    const marker = `deep-accel-output-probe-${randomBytes(6).toString('hex')}`;
    // A minimal nbformat 4 notebook whose only cell carries an HTML output, opened by VS Code's
    // built-in ipynb support: the output is drawn inside the notebook's webview iframes.
    const ipynb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        {
          cell_type: 'code',
          id: 'probe',
          metadata: {},
          execution_count: 1,
          source: ['1 + 1'],
          outputs: [{ output_type: 'display_data', metadata: {}, data: { 'text/html': [`<b class="probe">${marker}</b>`] } }],
        },
      ],
    };
    const file = vscode.Uri.joinPath(folder.uri, `${marker}.ipynb`);
    await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(JSON.stringify(ipynb)));
    try {
      const notebook = await vscode.workspace.openNotebookDocument(file);
      await vscode.window.showNotebookDocument(notebook);
      const found = await queryPage('b.probe', { textIncludes: marker, frameUrlIncludes: 'webview', timeoutMs: 30_000 });
      assert.equal(found.length, 1, `the output ${marker} did not appear inside a webview frame`);
      await screenshotPage('smoke-notebook-output');
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    } finally {
      await vscode.workspace.fs.delete(file);
    }
  });
});
