import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { OpenDocument } from '../documents/document-store.js';
import { chooseHeader, headerCandidates, renderHeader } from './header.js';
import type { CompletionContext } from './types.js';

export interface ContextOptions {
  /** Characters of document text the model sees in all: header + prefix + suffix never exceed it. */
  readonly contextChars: number;
}

/** Share of the budget for the text before the cursor; the suffix gets the rest (and gives back what it can't use). */
const PREFIX_SHARE = 3 / 4;
/** Most of the budget the header (imports and enclosing scopes' headers from outside the window) may take. */
const HEADER_SHARE = 1 / 4;

/**
 * What the model sees for a completion at `offset` (UTF-16 code units): the prefix and suffix windows around the
 * cursor, and a header with what the window leaves out but the model should know (imports, enclosing signatures).
 *
 * Cost is proportional to the window, not the document: the text is sliced from the stored string and lines are
 * found through the document's line index; the header comes from the tree (header.ts), read along the path from
 * the root to the cursor and over the leading import region only.
 */
export function buildCompletionContext(doc: OpenDocument, offset: number, options: ContextOptions): CompletionContext {
  const td = doc.textDocument;
  const text = td.getText();
  const length = text.length;
  const budget = Math.max(0, Math.floor(options.contextChars) || 0);

  let cursor = Math.min(Math.max(0, Math.floor(offset) || 0), length);
  // A cursor inside a surrogate pair or a CRLF lands before it: a prompt must not end in half a character.
  if (cursor > 0 && cursor < length) {
    const prev = text.charCodeAt(cursor - 1);
    const next = text.charCodeAt(cursor);
    if ((isHighSurrogate(prev) && isLowSurrogate(next)) || (prev === 0x0d && next === 0x0a)) cursor--;
  }

  const line = td.positionAt(cursor).line;
  const lineStart = td.offsetAt({ line, character: 0 });
  let lineEnd = td.offsetAt({ line: line + 1, character: 0 });
  if (lineEnd > cursor && text.charCodeAt(lineEnd - 1) === 0x0a) lineEnd--;
  if (lineEnd > cursor && text.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;

  // Split the budget; what one side cannot use goes to the other.
  let prefixBudget = Math.floor(budget * PREFIX_SHARE);
  let suffixBudget = budget - prefixBudget;
  if (length - cursor < suffixBudget) {
    prefixBudget += suffixBudget - (length - cursor);
    suffixBudget = length - cursor;
  }
  if (cursor < prefixBudget) {
    suffixBudget += prefixBudget - cursor;
    prefixBudget = cursor;
  }

  let windowStart = prefixStart(td, text, cursor, lineStart, prefixBudget);
  const windowEnd = suffixEnd(td, text, cursor, suffixBudget);

  let header = '';
  if (windowStart > 0 && doc.tree && doc.syntax) {
    const cap = Math.min(Math.floor(budget * HEADER_SHARE), prefixBudget);
    // Where the window starts if the header takes its whole cap: what starts before it may go into the header.
    const earliest = prefixStart(td, text, cursor, lineStart, prefixBudget - cap);
    const candidates = headerCandidates(doc, doc.tree, cursor, earliest);
    const reserved = chooseHeader(doc, candidates, earliest, windowEnd, cap).cost;
    if (reserved > 0) {
      // The window gives the header what it takes and keeps the rest, so it can start earlier than `earliest`;
      // what it then shows leaves the header, and the room that frees goes to what else fits (an import, say).
      // (With the same limit and a cap of exactly `reserved`, the choice is the same as the first one.)
      windowStart = prefixStart(td, text, cursor, lineStart, prefixBudget - reserved);
      const { pieces } = chooseHeader(doc, candidates, windowStart, windowEnd, reserved);
      header = renderHeader(td, pieces, windowStart);
    }
  }

  const linePrefixStart = Math.max(lineStart, windowStart);
  return {
    uri: doc.uri,
    languageId: doc.languageId,
    language: doc.syntax?.entry.name,
    version: doc.version,
    cursorOffset: cursor,
    prefix: text.slice(windowStart, cursor),
    suffix: text.slice(cursor, windowEnd),
    header,
    windowStart,
    windowEnd,
    linePrefix: text.slice(linePrefixStart, cursor),
    lineSuffix: text.slice(cursor, Math.min(lineEnd, windowEnd)),
    indent: leadingWhitespace(text, lineStart, lineEnd),
    wordPrefix: text.slice(wordStart(text, cursor, linePrefixStart), cursor),
  };
}

/** Where the prefix window starts: the first line start within `budget` of the cursor, mid-line only when the
 * cursor's own line is longer than the budget. */
function prefixStart(td: TextDocument, text: string, cursor: number, lineStart: number, budget: number): number {
  if (budget >= cursor) return 0;
  const candidate = cursor - Math.max(0, budget);
  if (candidate > lineStart) {
    // Never start on the second half of a surrogate pair.
    return isLowSurrogate(text.charCodeAt(candidate)) && isHighSurrogate(text.charCodeAt(candidate - 1))
      ? candidate + 1
      : candidate;
  }
  const line = td.positionAt(candidate).line;
  const start = td.offsetAt({ line, character: 0 });
  return start === candidate ? start : td.offsetAt({ line: line + 1, character: 0 });
}

/** Where the suffix window ends: after the last whole line within `budget`, mid-line only when the rest of the
 * cursor's line is longer than the budget. */
function suffixEnd(td: TextDocument, text: string, cursor: number, budget: number): number {
  const candidate = cursor + budget;
  if (candidate >= text.length) return text.length;
  const start = td.offsetAt({ line: td.positionAt(candidate).line, character: 0 });
  if (start > cursor) return start;
  return isLowSurrogate(text.charCodeAt(candidate)) && isHighSurrogate(text.charCodeAt(candidate - 1))
    ? candidate - 1
    : candidate;
}

function leadingWhitespace(text: string, lineStart: number, lineEnd: number): string {
  let i = lineStart;
  while (i < lineEnd && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  return text.slice(lineStart, i);
}

/** Start of the identifier that ends at `cursor` (not before `floor`). */
function wordStart(text: string, cursor: number, floor: number): number {
  let i = cursor;
  while (i > floor) {
    const c = text.charCodeAt(i - 1);
    if (isLowSurrogate(c) && i - 2 >= floor && isHighSurrogate(text.charCodeAt(i - 2))) {
      if (!isIdentifierCodePoint(text.codePointAt(i - 2)!)) break;
      i -= 2;
    } else {
      if (!isIdentifierCodePoint(c)) break;
      i--;
    }
  }
  return i;
}

const NON_ASCII_IDENTIFIER = /[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]/u;

/** Whether a code point can be part of an identifier (letters, digits, _ and $, and their Unicode kin). */
export function isIdentifierCodePoint(code: number): boolean {
  if (code < 0x80) {
    return (
      (code >= 0x61 && code <= 0x7a) || // a-z
      (code >= 0x41 && code <= 0x5a) || // A-Z
      (code >= 0x30 && code <= 0x39) || // 0-9
      code === 0x5f || // _
      code === 0x24 // $
    );
  }
  if (code >= 0xd800 && code <= 0xdfff) return false; // a lone surrogate
  return NON_ASCII_IDENTIFIER.test(String.fromCodePoint(code));
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
