import {
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
} as const;

/** What the client can do that changes what we offer or how we answer. */
export interface ClientFeatures {
  readonly encoding: PositionEncoding;
  readonly inlineCompletion: boolean;
  readonly workspaceConfiguration: boolean;
  readonly completionLabelDetails: boolean;
  readonly markdownDocumentation: boolean;
}

export function readClientFeatures(client: ClientCapabilities): ClientFeatures {
  const docFormats = client.textDocument?.completion?.completionItem?.documentationFormat;
  return {
    encoding: negotiateEncoding(client.general?.positionEncodings),
    // Offered only to clients that declare it (as tabby-agent does): others would ignore or reject it.
    inlineCompletion: Boolean(client.textDocument?.inlineCompletion),
    workspaceConfiguration: Boolean(client.workspace?.configuration),
    completionLabelDetails: Boolean(client.textDocument?.completion?.completionItem?.labelDetailsSupport),
    markdownDocumentation: !docFormats || docFormats.includes('markdown'),
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
    executeCommandProvider: { commands: Object.values(COMMANDS) },
  };
}
