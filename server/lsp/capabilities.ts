import {
  CodeActionKind,
  TextDocumentSyncKind,
  type ClientCapabilities,
  type ServerCapabilities,
} from 'vscode-languageserver/node';
import { negotiateEncoding, type PositionEncoding } from '../documents/position-encoding.js';

export const COMMANDS = {
  accept: 'xencode.acceptCompletion',
  reject: 'xencode.rejectCompletion',
  stats: 'xencode.stats',
  clearCache: 'xencode.clearCache',
  /** Runs a code action (clients without codeAction/resolve, and Explain): arguments [CodeActionData]. */
  runAction: 'xencode.runAction',
} as const;

/** The code action kinds Xencode offers (Explain has the empty kind: it edits nothing). */
export const CODE_ACTION_KINDS = [CodeActionKind.QuickFix, CodeActionKind.Refactor, CodeActionKind.RefactorRewrite, CodeActionKind.Empty];

/** What the client can do that changes what we offer or how we answer. */
export interface ClientFeatures {
  readonly encoding: PositionEncoding;
  readonly inlineCompletion: boolean;
  readonly workspaceConfiguration: boolean;
  readonly completionLabelDetails: boolean;
  readonly markdownDocumentation: boolean;
  /** codeAction/resolve can fill in `edit`: the edit is computed when the user picks the action. */
  readonly codeActionResolve: boolean;
  /** CodeAction literals (LSP 3.8+); older clients get Command objects. */
  readonly codeActionLiterals: boolean;
  /** Actions that cannot run here are listed greyed out with the reason. */
  readonly codeActionDisabled: boolean;
  readonly applyEdit: boolean;
  /** Versioned edits (`documentChanges`): the client refuses an edit computed for an older version. */
  readonly documentChanges: boolean;
  /** The client can create files through a workspace edit (tests go into a new file). */
  readonly createFiles: boolean;
  readonly showDocument: boolean;
  readonly hoverMarkdown: boolean;
}

/**
 * Clients that answer nothing while a codeAction/resolve is pending: Helix (25.01) resolves on its main loop
 * (`block_on`), so a resolve that waits for a model freezes the editor and is dropped at its 20 s request timeout.
 * They get the command path instead (the edit arrives through workspace/applyEdit, the editor stays responsive).
 */
const BLOCKS_ON_RESOLVE = new Set(['helix']);

export function readClientFeatures(client: ClientCapabilities, clientInfo?: { name?: string }): ClientFeatures {
  const docFormats = client.textDocument?.completion?.completionItem?.documentationFormat;
  const hoverFormats = client.textDocument?.hover?.contentFormat;
  return {
    encoding: negotiateEncoding(client.general?.positionEncodings),
    // Offered only to clients that declare it (as tabby-agent does): others would ignore or reject it.
    inlineCompletion: Boolean(client.textDocument?.inlineCompletion),
    workspaceConfiguration: Boolean(client.workspace?.configuration),
    completionLabelDetails: Boolean(client.textDocument?.completion?.completionItem?.labelDetailsSupport),
    markdownDocumentation: !docFormats || docFormats.includes('markdown'),
    codeActionResolve:
      Boolean(client.textDocument?.codeAction?.resolveSupport?.properties?.includes('edit')) && !BLOCKS_ON_RESOLVE.has(clientInfo?.name?.toLowerCase() ?? ''),
    codeActionLiterals: Boolean(client.textDocument?.codeAction?.codeActionLiteralSupport),
    codeActionDisabled: Boolean(client.textDocument?.codeAction?.disabledSupport),
    applyEdit: Boolean(client.workspace?.applyEdit),
    documentChanges: Boolean(client.workspace?.workspaceEdit?.documentChanges),
    createFiles: Boolean(client.workspace?.workspaceEdit?.documentChanges && client.workspace.workspaceEdit.resourceOperations?.includes('create')),
    showDocument: Boolean(client.window?.showDocument?.support),
    hoverMarkdown: !hoverFormats || hoverFormats.includes('markdown'),
  };
}

export function serverCapabilities(features: ClientFeatures): ServerCapabilities {
  return {
    positionEncoding: features.encoding,
    textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
    completionProvider: {
      resolveProvider: false,
      // Popup clients ask at these without a keyword; the server decides whether a completion is worth it.
      triggerCharacters: ['.', '(', '{', '[', ',', ' ', '\n', ':', '=', '>', '"', "'", '`', '/'],
    },
    ...(features.inlineCompletion ? { inlineCompletionProvider: true } : {}),
    codeActionProvider: { codeActionKinds: CODE_ACTION_KINDS, resolveProvider: features.codeActionResolve },
    hoverProvider: true,
    executeCommandProvider: { commands: Object.values(COMMANDS) },
  };
}
