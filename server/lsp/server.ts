import {
  ErrorCodes,
  LSPErrorCodes,
  InlineCompletionRequest,
  MarkupKind,
  ResponseError,
  type Hover,
  type CompletionList,
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type InlineCompletionList,
} from 'vscode-languageserver/node';
import { fileURLToPath } from 'node:url';
import type { Settings } from '../config.js';
import { DocumentStore, type TextEdit } from '../documents/document-store.js';
import { createEngine, type Engine } from '../engine/engine.js';
import type { StderrLogger } from '../log.js';
import { PACKAGE_VERSION } from '../paths.js';
import { memoryStats } from '../memory-stats.js';
import { resolveDataDir } from '../store/data-dir.js';
import { readClientFeatures, serverCapabilities, type ClientFeatures } from './capabilities.js';
import { CodeActions } from './code-actions.js';
import { registerCommands } from './commands.js';
import { CompletionRequests } from './completion-requests.js';
import { inlineItem, popupItem, replacementFor } from './completion-items.js';
import { CodeActionParams, DidChangeParams, DidCloseParams, DidOpenParams, PositionParams, checkNotification, checkRequest } from './params.js';
import { SettingsSync } from './settings-sync.js';
import { showMessageNotifier } from './user-messages.js';

export interface ServerOptions {
  readonly logger: StderrLogger;
  /** Skip loading models at start-up (benchmarks, tests of start-up time). Also XENCODE_NO_WARMUP=1. */
  readonly warmup?: boolean;
}

/**
 * Wires the LSP connection to the engine. This layer translates: positions, items, errors and lifecycles;
 * everything that decides what to answer lives in engine/.
 */
export interface RunningServer {
  /** Aborts what runs and flushes what is queued for disk (for an exit that is not the editor's shutdown). */
  close(): Promise<void>;
}

export function startServer(connection: Connection, options: ServerOptions): RunningServer {
  const { logger } = options;
  const notifier = showMessageNotifier(connection, logger);
  const documents = new DocumentStore(undefined, undefined, undefined, { logger });
  let features: ClientFeatures | undefined;
  let engine: Engine | undefined;
  let requests: CompletionRequests | undefined;
  let settingsSync: SettingsSync | undefined;
  let shuttingDown = false;
  const codeActions = new CodeActions({
    connection,
    documents,
    engine: () => engine,
    features: () => features!,
    notifier,
    logger,
    dataDir: () => resolveDataDir(),
  });

  logger.setSink((level, message) => {
    if (level === 'error') connection.console.error(message);
    else if (level === 'warn') connection.console.warn(message);
    else if (level === 'info') connection.console.info(message);
    else connection.console.log(message);
  });

  connection.onInitialize((params): InitializeResult => {
    features = readClientFeatures(params.capabilities, params.clientInfo);
    documents.encoding = features.encoding;
    settingsSync = new SettingsSync(connection, logger, notifier, features.workspaceConfiguration, (s) => applySettings(s));
    const settings = settingsSync.initial(params.initializationOptions);
    engine = createEngine({ settings, notifier, logger });
    engine.setWorkspaceRoots(workspaceRoots(params));
    requests = new CompletionRequests(engine, documents, logger);
    registerCommands(connection, () => engine, codeActions, () => memoryStats(documents));
    logger.info(`xencode ${PACKAGE_VERSION} for ${params.clientInfo?.name ?? 'an unnamed client'}; positions in ${features.encoding}`);
    return { capabilities: serverCapabilities(features), serverInfo: { name: 'xencode', version: PACKAGE_VERSION } };
  });

  function applySettings(settings: Settings): void {
    engine?.updateSettings(settings);
  }

  connection.onInitialized(async () => {
    // Disk cache: opened off the request path; until it is open (or if it cannot be), the memory tier serves.
    void engine?.openStore(resolveDataDir()).then(({ problem }) => {
      if (problem) notifier.warn(problem);
    });
    await settingsSync?.refresh();
    const warm = options.warmup ?? process.env.XENCODE_NO_WARMUP !== '1';
    if (warm) void engine?.warm();
  });

  connection.onDidChangeConfiguration((params) => {
    const pushed = (params.settings as Record<string, unknown> | null | undefined)?.xencode;
    void settingsSync?.refresh(pushed);
  });

  connection.onDidOpenTextDocument((params) => {
    if (!checkNotification('textDocument/didOpen', DidOpenParams, params, logger)) return;
    const d = params.textDocument;
    documents.open(d.uri, d.languageId, d.version, d.text);
  });
  connection.onDidChangeTextDocument((params) => {
    if (!checkNotification('textDocument/didChange', DidChangeParams, params, logger)) return;
    const { textDocument, contentChanges } = params;
    const edits: TextEdit[] = [];
    const doc = documents.change(textDocument.uri, textDocument.version ?? 0, contentChanges, edits);
    if (!doc) logger.warn(`didChange for ${textDocument.uri}, which was never opened: ignored`);
    else if (engine?.edited(doc, edits).length) logger.debug(`an edit in ${doc.uri} took a shown completion: recorded as accepted`);
  });
  connection.onDidCloseTextDocument((params) => {
    if (!checkNotification('textDocument/didClose', DidCloseParams, params, logger)) return;
    const { textDocument } = params;
    requests?.abort(textDocument.uri);
    engine?.forget(textDocument.uri);
    documents.close(textDocument.uri);
  });

  connection.onCompletion(async (params, token): Promise<CompletionList> => {
    checkRequest('textDocument/completion', PositionParams, params);
    // Popup-only clients (Helix, Emacs) show the popup when every server has answered: a slow model gets a budget.
    const waitMs = features!.inlineCompletion ? undefined : engine!.settings.completion.popupWaitMs;
    const result = await ready().run(params.textDocument.uri, params.position, token, { waitMs, kind: 'popup' });
    // isIncomplete: the client asks again as the user types, so the answer follows the cursor.
    if (!result) return { isIncomplete: true, items: [] };
    const replacement = replacementFor(result.answer, (o) => documents.positionAt(result.doc, o));
    return { isIncomplete: true, items: [popupItem(result.answer, replacement, features!)] };
  });

  connection.onRequest(InlineCompletionRequest.type, async (params, token): Promise<InlineCompletionList> => {
    checkRequest('textDocument/inlineCompletion', PositionParams, params);
    const result = await ready().run(params.textDocument.uri, params.position, token, { kind: 'inline' });
    if (!result) return { items: [] };
    const replacement = replacementFor(result.answer, (o) => documents.positionAt(result.doc, o));
    return { items: [inlineItem(result.answer, replacement)] };
  });

  connection.onCodeAction((params) => {
    checkRequest('textDocument/codeAction', CodeActionParams, params);
    return codeActions.list(params);
  });
  connection.onCodeActionResolve((action, token) => codeActions.resolve(action, token));

  connection.onHover(async (params, token): Promise<Hover | null> => {
    checkRequest('textDocument/hover', PositionParams, params);
    const doc = documents.get(params.textDocument.uri);
    if (!engine || !doc) return null;
    const controller = new AbortController();
    const onCancel = token.onCancellationRequested(() => controller.abort(new Error('cancelled')));
    try {
      const outcome = await engine.hover(doc, documents.offsetAt(doc, params.position), controller.signal);
      if (outcome.kind === 'aborted') throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
      if (outcome.kind !== 'answer') return null;
      const { markdown, range } = outcome.answer;
      return {
        contents: { kind: features!.hoverMarkdown ? MarkupKind.Markdown : MarkupKind.PlainText, value: markdown },
        ...(range ? { range: { start: documents.positionAt(doc, range.start), end: documents.positionAt(doc, range.end) } } : {}),
      };
    } finally {
      onCancel.dispose();
    }
  });

  async function close(): Promise<void> {
    for (const doc of documents.all()) requests?.abort(doc.uri);
    // Flushes queued cache writes to disk before the process exits.
    await engine?.close();
  }

  connection.onShutdown(async () => {
    shuttingDown = true;
    await close();
  });
  connection.onExit(() => process.exit(shuttingDown ? 0 : 1));

  function ready(): CompletionRequests {
    if (!requests) throw new ResponseError(ErrorCodes.ServerNotInitialized, 'xencode: initialize first');
    return requests;
  }

  return { close };
}

/** The workspace folders as paths (workspaceFolders, else the deprecated rootUri / rootPath). */
function workspaceRoots(params: InitializeParams): string[] {
  const uris = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
  const paths = uris.flatMap((uri) => {
    try {
      return uri.startsWith('file:') ? [fileURLToPath(uri)] : [];
    } catch {
      return [];
    }
  });
  if (paths.length === 0 && typeof params.rootPath === 'string' && params.rootPath) paths.push(params.rootPath);
  return paths;
}
