/** Completion and hover for the notebook's cell language, driven by the language's own reference. */
import * as vscode from 'vscode';
import { completionsAt, hoverDoc } from './core/notebook/cellLanguage';
import { CELL_LANGUAGE } from './notebookSerializer';

const KIND: Record<string, vscode.CompletionItemKind> = {
  command: vscode.CompletionItemKind.Keyword,
  option: vscode.CompletionItemKind.Property,
  value: vscode.CompletionItemKind.EnumMember,
};

export function registerCellLanguage(): vscode.Disposable {
  const selector: vscode.DocumentSelector = { language: CELL_LANGUAGE };
  return vscode.Disposable.from(
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
