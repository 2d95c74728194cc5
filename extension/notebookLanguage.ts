/**
 * Completion, hover and diagnostics for the notebook's cell language, driven by the language's own
 * reference and parser: a line the controller would refuse is underlined while it is typed, with
 * the message the run would give.
 */
import * as vscode from 'vscode';
import { cellDiagnostics, completionsAt, hoverDoc } from './core/notebook/cellLanguage';
import { CELL_LANGUAGE } from './notebookSerializer';

const KIND: Record<string, vscode.CompletionItemKind> = {
  command: vscode.CompletionItemKind.Keyword,
  option: vscode.CompletionItemKind.Property,
  value: vscode.CompletionItemKind.EnumMember,
};

function registerDiagnostics(): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('deep-accel');
  const check = (document: vscode.TextDocument): void => {
    if (document.languageId !== CELL_LANGUAGE) {
      collection.delete(document.uri);
      return;
    }
    collection.set(
      document.uri,
      cellDiagnostics(document.getText()).map((problem) => {
        const diagnostic = new vscode.Diagnostic(new vscode.Range(problem.line, problem.start, problem.line, problem.end), problem.message, vscode.DiagnosticSeverity.Error);
        diagnostic.source = 'deep-accel';
        return diagnostic;
      }),
    );
  };
  for (const document of vscode.workspace.textDocuments) check(document);
  return vscode.Disposable.from(
    collection,
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidChangeTextDocument((event) => check(event.document)),
    vscode.workspace.onDidCloseTextDocument((document) => collection.delete(document.uri)),
  );
}

export function registerCellLanguage(): vscode.Disposable {
  const selector: vscode.DocumentSelector = { language: CELL_LANGUAGE };
  return vscode.Disposable.from(
    registerDiagnostics(),
    vscode.languages.registerCompletionItemProvider(
      selector,
      {
        provideCompletionItems(document, position) {
          const prefix = document.lineAt(position.line).text.slice(0, position.character);
          return completionsAt(prefix).map((suggestion) => {
            const item = new vscode.CompletionItem(suggestion.label, KIND[suggestion.kind]);
            item.detail = suggestion.detail;
            item.insertText = suggestion.insertText;
            if (suggestion.insertText.endsWith('=')) item.command = { command: 'editor.action.triggerSuggest', title: 'values' };
            return item;
          });
        },
      },
      ' ',
      '=',
      ',',
    ),
    vscode.languages.registerHoverProvider(selector, {
      provideHover(document, position) {
        const line = document.lineAt(position.line).text;
        const doc = hoverDoc(line, position.character);
        if (!doc) return undefined;
        return new vscode.Hover(new vscode.MarkdownString(doc.markdown), new vscode.Range(position.line, doc.start, position.line, doc.end));
      },
    }),
  );
}
