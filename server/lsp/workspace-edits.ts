import { TextDocument } from 'vscode-languageserver-textdocument';
import type { TextEdit, WorkspaceEdit } from 'vscode-languageserver/node';
import type { DocumentStore } from '../documents/document-store.js';
import { positionOf } from '../documents/position-encoding.js';
import type { ActionResult } from '../engine/engine.js';
import type { ClientFeatures } from './capabilities.js';

type Editing = Extract<ActionResult, { kind: 'edit' } | { kind: 'test-file' }>;

/**
 * The workspace edit for an action's result, in the form the client accepts: versioned `documentChanges` where
 * supported (so a stale edit is refused instead of applied at the wrong place), else plain `changes`.
 * Tests go to their own file: appended when it exists (open or on disk), created where the client can create
 * files, and otherwise appended to the document the action ran in (`intoSource`).
 */
export function workspaceEditFor(result: Editing, sourceUri: string, documents: DocumentStore, features: ClientFeatures): { edit: WorkspaceEdit; intoSource: boolean } {
  if (result.kind === 'edit') {
    const doc = documents.get(result.uri);
    if (!doc) throw new Error(`${result.uri} is not open`);
    const edits = result.changes.map((c) => ({
      range: { start: documents.positionAt(doc, c.start), end: documents.positionAt(doc, c.end) },
      newText: c.newText,
    }));
    return { edit: versioned(result.uri, result.version, edits, features), intoSource: false };
  }
  const open = documents.get(result.uri);
  if (open) return { edit: versioned(open.uri, open.version, [appendAtEnd(open.textDocument, result.text, documents)], features), intoSource: false };
  if (result.existingText !== undefined) {
    const existing = TextDocument.create(result.uri, '', 0, result.existingText);
    return { edit: versioned(result.uri, null, [appendAtEnd(existing, result.text, documents)], features), intoSource: false };
  }
  if (features.createFiles) {
    return {
      edit: {
        documentChanges: [
          { kind: 'create', uri: result.uri, options: { ignoreIfExists: true } },
          { textDocument: { uri: result.uri, version: null }, edits: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, newText: ensureFinalNewline(result.text) }] },
        ],
      },
      intoSource: false,
    };
  }
  const source = documents.get(sourceUri);
  if (!source) throw new Error(`${sourceUri} is not open`);
  return { edit: versioned(source.uri, source.version, [appendAtEnd(source.textDocument, result.text, documents)], features), intoSource: true };
}

function versioned(uri: string, version: number | null, edits: TextEdit[], features: ClientFeatures): WorkspaceEdit {
  if (features.documentChanges) return { documentChanges: [{ textDocument: { uri, version }, edits }] };
  return { changes: { [uri]: edits } };
}

/** An edit appending `text` after what `doc` holds, separated by a blank line. */
function appendAtEnd(doc: TextDocument, text: string, documents: DocumentStore): TextEdit {
  const content = doc.getText();
  const eol = content.includes('\r\n') ? '\r\n' : '\n';
  const end = positionOf(doc, content.length, documents.encoding);
  const separator = content.length === 0 ? '' : content.endsWith('\n') ? eol : eol + eol;
  return { range: { start: end, end }, newText: separator + ensureFinalNewline(text, eol) };
}

function ensureFinalNewline(text: string, eol = text.includes('\r\n') ? '\r\n' : '\n'): string {
  return text.endsWith('\n') ? text : text + eol;
}
