/**
 * Hovers in any editor:
 * - over a Winograd spec such as F(4,3), F(2x2,3x3) or F(4, 3): the three matrices and the saving;
 * - over a string literal naming a weight file: its format, parameters and sparsity.
 * The work runs in the worker pool; the hover shows when it is ready, or not at all if cancelled.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findWinogradSpecs } from './core/winograd';
import { weightFileLiteralAt } from './core/weightFiles';
import { findInFolders } from './core/paths';
import { searchFoldersFor, type Services } from './services';
import { type WeightFileCache, inspectorScanChoices } from './weightFileCache';
import type { WinogradResult } from './shared/payloads';

const ANY_TEXT: vscode.DocumentSelector = [{ scheme: 'file' }, { scheme: 'untitled' }, { scheme: 'vscode-notebook-cell' }];

function matrixMarkdown(name: string, rows: string[][]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  const lines = rows.map((row) => row.map((entry, j) => entry.padStart(widths[j])).join('  '));
  return `**${name}**\n\n\`\`\`text\n${lines.join('\n')}\n\`\`\``;
}

export function winogradHoverMarkdown(result: WinogradResult): vscode.MarkdownString {
  const name = result.n !== undefined ? `F(${result.m}×${result.n}, ${result.r}×${result.s})` : `F(${result.m}, ${result.r})`;
  const markdown = new vscode.MarkdownString(
    [
      `**Winograd ${name}**: α = ${result.alpha}, points ${result.points.join(', ')}${result.infinity ? ', ∞' : ''}`,
      `${result.multiplications.winograd} instead of ${result.multiplications.direct} multiplications per 2-D tile: **${result.multiplications.saving.toFixed(2)}× fewer**${result.verified ? ' (verified exactly)' : ''}`,
      matrixMarkdown('AT', result.AT),
      matrixMarkdown('G', result.G),
      matrixMarkdown('BT', result.BT),
    ].join('\n\n'),
  );
  return markdown;
}

export function registerHovers(services: Services, cache: WeightFileCache): vscode.Disposable {
  const winogradHover = vscode.languages.registerHoverProvider(ANY_TEXT, {
    async provideHover(document, position, token) {
      const line = document.lineAt(position.line).text;
      const spec = findWinogradSpecs(line).find((s) => position.character >= s.start && position.character <= s.end);
      if (!spec) return undefined;
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      try {
        const result = await services.run('winograd', { ...spec.request, errorTrials: 0 }, { signal: abort.signal });
        return new vscode.Hover(winogradHoverMarkdown(result), new vscode.Range(position.line, spec.start, position.line, spec.end));
      } catch (error) {
        if (token.isCancellationRequested) return undefined;
        return new vscode.Hover(`Deep Accel: ${spec.text}: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  });

  const weightHover = vscode.languages.registerHoverProvider(ANY_TEXT, {
    async provideHover(document, position, token) {
      const literal = weightFileLiteralAt(document.lineAt(position.line).text, position.character);
      if (!literal) return undefined;
      const file = findInFolders(literal.path, searchFoldersFor(document.uri));
      const range = new vscode.Range(position.line, literal.start, position.line, literal.end);
      if (!file) return new vscode.Hover(`Deep Accel: \`${literal.path}\` not found next to this file or in the workspace`, range);
      try {
        const summary = await cache.summary(file);
        if (token.isCancellationRequested) return undefined;
        const threshold = services.config.get<number>('sparsity.threshold', 0);
        // The badge's scan or the inspector's, whichever has run.
        const report = await (cache.peekReport(file, { threshold }) ?? cache.peekReport(file, inspectorScanChoices(services.config)))?.catch(() => undefined);
        const lines = [
          `**${path.basename(file)}**: ${summary.format}, ${summary.tensors.length} tensors, ${summary.parameters.toLocaleString('en-US')} parameters`,
          report ? `**${(report.total.sparsity * 100).toFixed(2)}% sparse** (|w| ≤ ${threshold}); ${report.total.zeros.toLocaleString('en-US')} zeros` : 'Sparsity: open the file in the Weight Inspector to scan it.',
          ...summary.tensors.slice(0, 8).map((t) => `- \`${t.name}\` ${t.dtype} [${t.shape.join(', ')}]`),
          summary.tensors.length > 8 ? `- … ${summary.tensors.length - 8} more` : '',
        ];
        const markdown = new vscode.MarkdownString(lines.filter(Boolean).join('\n\n'));
        return new vscode.Hover(markdown, range);
      } catch (error) {
        return new vscode.Hover(`Deep Accel: ${error instanceof Error ? error.message : String(error)}`, range);
      }
    },
  });
  return vscode.Disposable.from(winogradHover, weightHover);
}
