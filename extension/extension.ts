/**
 * Deep Accel's entry point: wires each surface (one file each) to the shared services. Activation is
 * cheap; the worker pool starts on first use.
 */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { WeightFileDecorations } from './decorations';
import { registerHovers } from './hovers';
import { DeepAccelNotebookController } from './notebookController';
import { registerCellLanguage } from './notebookLanguage';
import { DeepAccelNotebookSerializer, NOTEBOOK_TYPE } from './notebookSerializer';
import { Services } from './services';
import { WeightFileCache } from './weightFileCache';
import { registerRendererMessaging } from './webviewMessages';
import { WeightInspectorProvider } from './weightInspector';

/** The notebook renderer of package.json (contributes.notebookRenderer). */
const RENDERER_ID = 'deep-accel-renderer';

/** What activate() returns: the live services, for integration tests and other extensions. */
export interface DeepAccelApi {
  services: Services;
  decorations: WeightFileDecorations;
  cache: WeightFileCache;
}

export function activate(context: vscode.ExtensionContext): DeepAccelApi {
  const services = new Services(context);
  const cache = new WeightFileCache(services);
  const decorations = new WeightFileDecorations(services, cache);
  context.subscriptions.push(
    services,
    registerCommands(services, cache),
    vscode.workspace.registerNotebookSerializer(NOTEBOOK_TYPE, new DeepAccelNotebookSerializer(), { transientOutputs: false }),
    new DeepAccelNotebookController(services),
    registerCellLanguage(),
    WeightInspectorProvider.register(services, cache),
    registerHovers(services, cache),
    registerRendererMessaging(RENDERER_ID),
    decorations,
    vscode.window.registerFileDecorationProvider(decorations),
  );
  services.log.info(`Deep Accel ${context.extension.packageJSON.version} activated`);
  return { services, decorations, cache };
}

export function deactivate(): void {
  // Disposables registered on the context stop the worker pool.
}
