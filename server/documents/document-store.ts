import { TextDocument } from 'vscode-languageserver-textdocument';
import type { TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import { languageFor, parse, parseBudgetMs, type SyntaxLanguage, type Tree, type Point } from './syntax.js';
import { NativeGarbage, treeBytes } from './native-memory.js';
import { offsetOf, positionOf, type Position, type PositionEncoding } from './position-encoding.js';
import { silentLogger, type Logger } from '../log.js';
import { narrowReplacement } from '../text/lines.js';

/** Documents larger than this are served as plain text: parsing megabytes on each keystroke would stall typing. */
export const MAX_PARSED_CHARS = 2 * 1024 * 1024;

/** Why a document has no syntax tree. */
export type PlainTextReason = 'no-grammar' | 'too-large' | 'binary' | 'parse-timeout';

/** After a parse runs out of time, the document is plain text until this long has passed and it changes again. */
export const PARSE_RETRY_MS = 30_000;
/** Retries back off by doubling, up to this. */
export const PARSE_RETRY_MAX_MS = 10 * 60_000;

export interface DocumentStoreOptions {
  readonly logger?: Logger;
  /** The clock for parse retries (tests). */
  readonly now?: () => number;
}

export interface OpenDocument {
  readonly uri: string;
  readonly languageId: string;
  readonly version: number;
  readonly textDocument: TextDocument;
  /** The grammar, when the language has one and the document is parseable text. */
  readonly syntax?: SyntaxLanguage;
  /** The current tree, always in step with the text when `syntax` is set. */
  readonly tree?: Tree;
  readonly plainTextReason?: PlainTextReason;
  readonly binary: boolean;
}

interface MutableDocument {
  /** The tree was dropped to bound memory (see DocumentStore.maxTrees); `get` parses it again. */
  treeEvicted?: boolean;
  uri: string;
  languageId: string;
  version: number;
  textDocument: TextDocument;
  syntax?: SyntaxLanguage;
  tree?: Tree;
  plainTextReason?: PlainTextReason;
  binary: boolean;
  /** Parses of this document that ran out of time in a row, and when the next may be tried. */
  parseTimeouts?: number;
  parseRetryAt?: number;
}

/** One change of a didChange in UTF-16 offsets of the text before it (changes apply in order). */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export type ContentChange =
  | { range: { start: Position; end: Position }; text: string }
  | { text: string };

/**
 * The open documents, each with its text and a tree-sitter tree kept current incrementally: every change is
 * applied to the tree with `tree.edit` and the text is reparsed with the old tree, so no parse happens on the
 * request path.
 */
export class DocumentStore {
  /** In order of use, least recent first (re-inserted on every use). */
  private readonly docs = new Map<string, MutableDocument>();

  /**
   * @param maxTrees Trees kept at most: a 2,000-line TypeScript file's tree takes about 2 MB of native memory, so
   *   the least recently used documents beyond this many give theirs up and are parsed again when next used
   *   (one full parse, tens of milliseconds, on the first request after switching back to such a file). 16 keeps
   *   the server within its memory budget with 50 open 2,000-line files (bench/startup.ts).
   */
  constructor(
    public encoding: PositionEncoding = 'utf-16',
    private readonly maxTrees = 16,
    private readonly garbage = new NativeGarbage(),
    private readonly options: DocumentStoreOptions = {},
  ) {}

  get(uri: string): OpenDocument | undefined {
    const doc = this.docs.get(uri);
    if (!doc) return undefined;
    this.touch(doc);
    if (doc.treeEvicted) {
      this.reparseFully(doc);
      this.evictTrees();
    }
    return doc;
  }

  /** How many documents hold a tree now. */
  get treeCount(): number {
    let count = 0;
    for (const doc of this.docs.values()) if (doc.tree) count++;
    return count;
  }

  get size(): number {
    return this.docs.size;
  }

  all(): IterableIterator<OpenDocument> {
    return this.docs.values();
  }

  open(uri: string, languageId: string, version: number, text: string): OpenDocument {
    const doc: MutableDocument = {
      uri,
      languageId,
      version,
      textDocument: TextDocument.create(uri, languageId, version, text),
      binary: false,
    };
    this.reparseFully(doc);
    this.docs.delete(uri);
    this.docs.set(uri, doc);
    this.evictTrees();
    return doc;
  }

  close(uri: string): void {
    const doc = this.docs.get(uri);
    if (doc?.tree) this.garbage.add(treeBytes(doc.textDocument.getText().length), true);
    this.docs.delete(uri);
  }

  /**
   * Applies the changes of one didChange in order. Returns undefined for an unknown document. `edits`, when given,
   * receives each change in offsets (what feedback tracking follows regions through).
   */
  change(uri: string, version: number, changes: readonly ContentChange[], edits?: TextEdit[]): OpenDocument | undefined {
    const doc = this.docs.get(uri);
    if (!doc) return undefined;
    this.touch(doc);
    let fullReplace = false;
    let treeEdited = false;
    for (const change of changes) {
      if (!('range' in change) || !change.range) {
        // Full-sync editors send the whole text on every keystroke: narrowed, it is the keystroke.
        edits?.push(narrowReplacement(doc.textDocument.getText(), change.text));
        doc.textDocument = TextDocument.update(doc.textDocument, [{ text: change.text }], version);
        fullReplace = true;
        continue;
      }
      const before = doc.textDocument;
      const start = offsetOf(before, change.range.start, this.encoding);
      const end = Math.max(start, offsetOf(before, change.range.end, this.encoding));
      const startPos = before.positionAt(start);
      const endPos = before.positionAt(end);
      edits?.push({ start, end, text: change.text });
      const utf16Change: TextDocumentContentChangeEvent = { range: { start: startPos, end: endPos }, text: change.text };
      doc.textDocument = TextDocument.update(before, [utf16Change], version);
      if (doc.tree && !fullReplace) {
        doc.tree.edit({
          startIndex: start,
          oldEndIndex: end,
          newEndIndex: start + change.text.length,
          startPosition: toPoint(startPos),
          oldEndPosition: toPoint(endPos),
          newEndPosition: endPoint(startPos, change.text),
        });
        treeEdited = true;
      }
    }
    doc.version = version;
    if (fullReplace || !doc.tree) {
      this.reparseFully(doc);
      this.evictTrees();
    } else if (treeEdited) this.reparseIncrementally(doc);
    return doc;
  }

  private touch(doc: MutableDocument): void {
    this.docs.delete(doc.uri);
    this.docs.set(doc.uri, doc);
  }

  /** Drops the trees of the least recently used documents beyond maxTrees. */
  private evictTrees(): void {
    let excess = this.treeCount - this.maxTrees;
    for (const doc of this.docs.values()) {
      if (excess <= 0) break;
      if (!doc.tree) continue;
      doc.tree = undefined;
      doc.treeEvicted = true;
      this.garbage.add(treeBytes(doc.textDocument.getText().length), true);
      excess--;
    }
  }

  /** Client position -> offset in the document, clamped to the document. */
  offsetAt(doc: OpenDocument, position: Position): number {
    return offsetOf(doc.textDocument, position, this.encoding);
  }

  positionAt(doc: OpenDocument, offset: number): Position {
    return positionOf(doc.textDocument, offset, this.encoding);
  }

  private reparseFully(doc: MutableDocument): void {
    const text = doc.textDocument.getText();
    if (doc.tree) this.garbage.add(treeBytes(text.length), true);
    doc.tree = undefined;
    doc.treeEvicted = false;
    doc.syntax = undefined;
    doc.binary = text.includes('\u0000');
    const syntax = languageFor(doc.languageId, doc.uri);
    if (doc.binary) doc.plainTextReason = 'binary';
    else if (!syntax) doc.plainTextReason = 'no-grammar';
    else if (text.length > MAX_PARSED_CHARS) doc.plainTextReason = 'too-large';
    else if (doc.parseRetryAt !== undefined && this.now() < doc.parseRetryAt) doc.plainTextReason = 'parse-timeout';
    else {
      doc.plainTextReason = undefined;
      doc.syntax = syntax;
      doc.tree = parse(syntax, text);
      if (doc.tree) doc.parseTimeouts = doc.parseRetryAt = undefined;
      else this.parseTimedOut(doc, text.length);
    }
  }

  /** A grammar that cannot finish on this text: serve the document as plain text and try again later. */
  private parseTimedOut(doc: MutableDocument, chars: number): void {
    if (doc.tree) this.garbage.add(treeBytes(chars), true);
    doc.tree = undefined;
    doc.syntax = undefined;
    doc.plainTextReason = 'parse-timeout';
    const timeouts = (doc.parseTimeouts ?? 0) + 1;
    doc.parseTimeouts = timeouts;
    const wait = Math.min(PARSE_RETRY_MAX_MS, PARSE_RETRY_MS * 2 ** (timeouts - 1));
    doc.parseRetryAt = this.now() + wait;
    const logger = this.options.logger ?? silentLogger;
    const line = `parsing ${doc.uri} (${doc.languageId}, ${chars} characters) ran past ${parseBudgetMs(chars)} ms: `
      + `served as plain text, parsed again on an edit after ${Math.round(wait / 1000)} s`;
    if (timeouts === 1) logger.warn(line);
    else logger.debug(line);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private reparseIncrementally(doc: MutableDocument): void {
    const text = doc.textDocument.getText();
    if (text.length > MAX_PARSED_CHARS || text.includes('\u0000')) {
      this.reparseFully(doc);
      return;
    }
    const tree = parse(doc.syntax!, text, doc.tree);
    if (!tree) return this.parseTimedOut(doc, text.length);
    doc.tree = tree;
    // The old tree shares most of its nodes with the new one: what is freed is the path to the edit.
    this.garbage.add(64 * 1024);
  }
}

function toPoint(p: Position): Point {
  return { row: p.line, column: p.character };
}

/** Where inserted text ends, counted from its start (tree-sitter columns are UTF-16 units here). */
function endPoint(start: Position, text: string): Point {
  const lastNewline = text.lastIndexOf('\n');
  if (lastNewline < 0) return { row: start.line, column: start.character + text.length };
  let rows = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) rows++;
  return { row: start.line + rows, column: text.length - lastNewline - 1 };
}
