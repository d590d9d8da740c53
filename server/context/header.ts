import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { OpenDocument } from '../documents/document-store.js';
import type Parser from 'tree-sitter';
import { querySource, type SyntaxLanguage, type SyntaxNode, type Tree } from '../documents/syntax.js';

/**
 * The header of a completion context: what lies before the window but the model should still see — the file's
 * imports and the signatures of the scopes around the cursor — read from the tree with the language's
 * scopes.scm (@scope, @body) and imports.scm (@import).
 *
 * Everything here is proportional to the cursor's depth and the import block, never to the document: the scopes
 * are found by descending from the root to the cursor with a tree cursor and running the scopes query only on the
 * nodes on that path whose type roots one of its patterns (read from scopes.scm); the imports query runs once over
 * the leading import region, and its result is kept while the text of that region does not change.
 *
 * (A range-limited query from the root was the first design: it costs 2-3x more in node-tree-sitter 0.21, whose
 * query cursor visits every sibling on the way down, and the binding converts only the end of a byte range from
 * UTF-16 units.)
 */

/** A range of the document to show in the header (from a line start); rendered as whole lines. */
export interface Piece {
  start: number;
  end: number;
  /** For an import: the names it brings in, read once (pieces of imports are cached with the import scan). */
  names?: readonly string[];
}

/** Top-level statements looked at from the start of a file when looking for its imports… */
const MAX_IMPORT_SCAN = 64;
/** …and how far into it they may start. */
const MAX_IMPORT_REGION_CHARS = 32 * 1024;
/** Top-level node types that may sit among a file's imports; the first other one ends the import region. */
const IMPORT_REGION_TYPES = new Set([
  'import_statement',
  'comment',
  'hash_bang_line',
  'expression_statement', // 'use strict'; require('x');
  'lexical_declaration', // const x = require('x');
  'variable_declaration', // var x = require('x');
  'empty_statement',
]);

/** What may go into a header: the enclosing scopes' headers (innermost first) and the file's imports. */
export interface HeaderCandidates {
  readonly scopes: readonly Piece[];
  readonly imports: readonly Piece[];
}

/** The candidates that start before `limit` (the earliest the window may start). */
export function headerCandidates(doc: OpenDocument, tree: Tree, cursor: number, limit: number): HeaderCandidates {
  const text = doc.textDocument.getText();
  return {
    scopes: enclosingScopes(doc, tree, text, cursor, limit),
    imports: importPieces(doc, tree, text).filter((p) => p.start < limit),
  };
}

/**
 * The candidates that start before `limit` (the window start) that fit in `cap` characters, and the characters
 * they were counted at (their rendering is never longer: overlapping pieces merge).
 * Priority: the innermost enclosing scope, then the outer ones, then the imports (when not all of them fit, first
 * those whose names the window uses, then the others in document order).
 */
export function chooseHeader(
  doc: OpenDocument,
  candidates: HeaderCandidates,
  limit: number,
  windowEnd: number,
  cap: number,
): { pieces: Piece[]; cost: number } {
  const td = doc.textDocument;
  const text = td.getText();
  const chosen: Piece[] = [];
  let left = cap;
  const take = (p: Piece): boolean => {
    const cost = Math.min(p.end, limit) - p.start + 1; // + the newline that ends it
    if (cost > left) return false;
    chosen.push(p);
    left -= cost;
    return true;
  };

  for (const scope of candidates.scopes) {
    if (scope.start >= limit || take(scope)) continue;
    // Too long (a signature with many parameter lines): its first and last lines still say what it is.
    const end = Math.min(scope.end, limit);
    const firstLineEnd = Math.min(lineEndOf(td, scope.start), end);
    const lastLineStart = td.offsetAt({ line: td.positionAt(end).line, character: 0 });
    if (!take({ start: scope.start, end: firstLineEnd })) continue;
    if (lastLineStart > firstLineEnd && lastLineStart < end) take({ start: lastLineStart, end });
  }

  const imports = candidates.imports.filter((p) => p.start < limit);
  let total = 0;
  for (const p of imports) total += Math.min(p.end, limit) - p.start + 1;
  if (total <= left) {
    chosen.push(...imports);
    left -= total;
  } else {
    const window = text.slice(limit, windowEnd);
    const names = (p: Piece): readonly string[] => (p.names ??= importedNames(text.slice(p.start, p.end)));
    const used = imports.filter((p) => names(p).some((name) => window.includes(name)));
    for (const p of used) take(p);
    for (const p of imports) if (!used.includes(p)) take(p);
  }
  return { pieces: chosen, cost: cap - left };
}

/**
 * Pieces in document order, overlaps merged, as whole lines: '' or lines that end with '\n'. A piece that runs into
 * the window (`limit`) is cut there, or at the start of that line when the window starts mid-line.
 */
export function renderHeader(td: TextDocument, pieces: readonly Piece[], limit: number): string {
  const text = td.getText();
  const lineStart = td.offsetAt({ line: td.positionAt(limit).line, character: 0 });
  const ranges = pieces
    .map((p) => ({ start: p.start, end: p.end <= limit ? p.end : lineStart }))
    .filter((p) => p.start < p.end)
    .sort((a, b) => a.start - b.start);
  let out = '';
  let current: Piece | undefined;
  for (const r of ranges) {
    if (current && r.start <= current.end) {
      current.end = Math.max(current.end, r.end);
      continue;
    }
    if (current) out += trimmed(text, current) + '\n';
    current = { ...r };
  }
  if (current) out += trimmed(text, current) + '\n';
  return out;
}

// --- enclosing scopes ------------------------------------------------------------------------------------------

/**
 * Headers of the scopes around the cursor that start before `limit`, innermost first: from the start of the
 * scope's first line to its body's opening brace.
 */
function enclosingScopes(doc: OpenDocument, tree: Tree, text: string, cursor: number, limit: number): Piece[] {
  const syntax = doc.syntax;
  const query = syntax?.scopes;
  if (!syntax || !query) return [];
  const td = doc.textDocument;
  const found: Piece[] = [];
  const add = (start: number, end: number, body: SyntaxNode | undefined): void => {
    // Inside it, or at the end of one not closed yet (typing at the end of an unfinished function).
    if (start >= cursor || cursor > end || (cursor === end && text.charCodeAt(end - 1) === 0x7d)) return;
    let headerEnd = body ? body.startIndex : lineEndOf(td, start);
    if (text.charCodeAt(headerEnd) === 0x7b) headerEnd++; // keep the opening brace
    while (headerEnd > start && isSpace(text.charCodeAt(headerEnd - 1))) headerEnd--;
    const pieceStart = td.offsetAt({ line: td.positionAt(start).line, character: 0 });
    if (found.some((p) => p.start === pieceStart && p.end === headerEnd)) return; // two patterns, one scope
    found.push({ start: pieceStart, end: headerEnd });
  };

  // Descend from the root towards the cursor; the nodes on the way whose type roots a pattern (any node, if the
  // roots cannot be read) are candidates, and the query runs on each of them alone.
  // (Goal cursor - 1: a scope that ends exactly at the cursor is still entered, for unclosed scopes.)
  const roots = scopeRootTypes(syntax);
  const walker = tree.walk();
  const goal = cursor > 0 ? cursor - 1 : 0;
  const candidates: { node: SyntaxNode; start: number; end: number }[] = [];
  while (gotoChildFor(walker, goal)) {
    const start = walker.startIndex;
    if (start >= cursor || start >= limit) break; // deeper nodes start later still: all inside the window
    if (roots && !roots.has(walker.nodeType)) continue;
    candidates.push({ node: walker.currentNode, start, end: walker.endIndex });
  }
  for (const c of candidates) {
    for (const match of query.matches(c.node, { maxStartDepth: 0 })) {
      add(c.start, c.end, match.captures.find((cap) => cap.name === 'body')?.node);
    }
  }
  return found.sort((a, b) => b.start - a.start || a.end - b.end);
}

/**
 * Moves to the first child that ends after `index`. node-tree-sitter 0.21 returns the child's index or null (its
 * typings say boolean): index 0 is a success.
 */
function gotoChildFor(walker: Parser.TreeCursor, index: number): boolean {
  return (walker.gotoFirstChildForIndex(index) as unknown as number | null) !== null;
}

const rootTypesByFolder = new Map<string, ReadonlySet<string> | null>();

/** The node types the patterns of a language's scopes.scm are rooted at; null when unknown (a wildcard root). */
function scopeRootTypes(syntax: SyntaxLanguage): ReadonlySet<string> | null {
  const folder = syntax.entry.queries;
  let roots = rootTypesByFolder.get(folder);
  if (roots === undefined) {
    try {
      roots = patternRootTypes(querySource(folder, 'scopes.scm') ?? '');
    } catch {
      roots = null;
    }
    rootTypesByFolder.set(folder, roots);
  }
  return roots;
}

type Form = string | { open: '(' | '['; items: Form[] };

/**
 * The root node type of each top-level pattern of a tree-sitter query: `(type …)`, each alternative of `[…]`,
 * the first pattern of a group `((type …) (#pred …))`. Null if a root is a wildcard or cannot be read.
 */
export function patternRootTypes(source: string): Set<string> | null {
  const tokens = source.match(/;[^\n]*|"(?:[^"\\]|\\.)*"|[()[\]]|[^\s()[\]";]+/g) ?? [];
  let i = 0;
  const form = (): Form => {
    const t = tokens[i++]!;
    if (t !== '(' && t !== '[') return t;
    const items: Form[] = [];
    const close = t === '(' ? ')' : ']';
    while (i < tokens.length && tokens[i] !== close) {
      if (tokens[i]!.startsWith(';')) i++;
      else items.push(form());
    }
    i++;
    return { open: t, items };
  };
  const roots = new Set<string>();
  const collect = (f: Form): boolean => {
    if (typeof f === 'string') return true; // captures, quantifiers, anchors
    if (f.open === '[') return f.items.every(collect);
    const head = f.items[0];
    if (head === undefined) return false;
    if (typeof head !== 'string') return collect(head); // a group: its first pattern
    if (head.startsWith('#')) return true; // a predicate
    if (head === '_' || head.startsWith('"')) return false;
    roots.add(head);
    return true;
  };
  while (i < tokens.length) {
    if (tokens[i]!.startsWith(';')) {
      i++;
      continue;
    }
    if (!collect(form())) return null;
  }
  return roots.size > 0 ? roots : null;
}

// --- imports ---------------------------------------------------------------------------------------------------

interface ImportEntry {
  /** A copy of the text the result depends on: the import region and the first line after it. */
  readonly key: string;
  readonly pieces: readonly Piece[];
}

/** The last import scan per document; reused while the text up to the end of the import region is unchanged. */
const importCache = new WeakMap<OpenDocument, ImportEntry>();

/** The file's top-level imports: the imports query over the leading run of import-like statements. */
function importPieces(doc: OpenDocument, tree: Tree, text: string): readonly Piece[] {
  const query = doc.syntax?.imports;
  if (!query) return [];
  const cached = importCache.get(doc);
  if (cached && text.startsWith(cached.key)) return cached.pieces;
  const td = doc.textDocument;
  const pieces: Piece[] = [];
  // Where the import region ends (a tree-sitter point; undefined: the end of the file), and where the text the
  // result depends on ends: the region and the first line after it.
  let end: { row: number; column: number } | undefined;
  let keyEnd = text.length;
  const walker = tree.walk();
  if (walker.gotoFirstChild()) {
    let scanned = 0;
    do {
      if (!IMPORT_REGION_TYPES.has(walker.nodeType) || walker.startIndex >= MAX_IMPORT_REGION_CHARS) {
        end = walker.startPosition;
        keyEnd = lineEndOf(td, walker.startIndex);
        break;
      }
      if (++scanned >= MAX_IMPORT_SCAN) {
        end = walker.endPosition;
        keyEnd = lineEndOf(td, walker.endIndex);
        break;
      }
    } while (walker.gotoNextSibling());
  }
  // To tree-sitter an end of (0, 0) means "no limit"; here it means "no import region".
  if (end === undefined || end.row > 0 || end.column > 0) {
    for (const match of query.matches(tree.rootNode, { endPosition: end, maxStartDepth: 1 })) {
      const node = match.captures.find((c) => c.name === 'import')?.node;
      if (!node) continue;
      const start = td.offsetAt({ line: td.positionAt(node.startIndex).line, character: 0 });
      pieces.push({ start, end: node.endIndex });
    }
    pieces.sort((a, b) => a.start - b.start);
  }
  // A copy: a slice would keep this version of the whole document alive.
  const key = Buffer.from(text.slice(0, keyEnd), 'utf16le').toString('utf16le');
  importCache.set(doc, { key, pieces });
  return pieces;
}

/** Local names an import statement brings in (a cheap lexical reading: its identifiers minus the keywords). */
function importedNames(statement: string): string[] {
  const clause = statement.replace(/(['"`])(?:(?!\1).)*\1/gs, ' ');
  return (clause.match(/[A-Za-z_$][\w$]*/g) ?? []).filter((w) => w.length > 1 && !IMPORT_KEYWORDS.has(w));
}
const IMPORT_KEYWORDS = new Set([
  ...['import', 'from', 'as', 'type', 'typeof', 'require'],
  ...['const', 'let', 'var', 'with', 'assert'],
]);

// --- text ------------------------------------------------------------------------------------------------------

function lineEndOf(td: TextDocument, offset: number): number {
  return td.offsetAt({ line: td.positionAt(offset).line, character: Number.MAX_SAFE_INTEGER });
}

function trimmed(text: string, p: Piece): string {
  let end = p.end;
  while (end > p.start && isSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(p.start, end);
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}
