import { lineStartOf } from '../text/lines.js';
import type { OpenDocument } from '../documents/document-store.js';
import type { SyntaxNode } from '../documents/syntax.js';

/**
 * What a code action or a hover works on. With a selection, the selection (without its surrounding blank
 * space); without one, the innermost declaration around the cursor that the language's targets.scm names
 * (function, method, class…), widened to an enclosing `export`; for languages without a grammar, the paragraph
 * (the block of non-blank lines) around the cursor.
 */
export interface ActionTarget {
  /** Document offsets (UTF-16) of the code the action replaces or explains. */
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly kind: 'selection' | 'declaration' | 'paragraph' | 'window';
  /** For messages and titles: "function sum", "method add", "selection", "lines 3–9". */
  readonly description: string;
  /** The declared name, when the target has one. */
  readonly name?: string;
  /** Leading whitespace of the target's first line: what the replacement is re-indented to. */
  readonly indent: string;
  /**
   * Where a doc comment for the target goes: the start of the target's first line, or the range of the doc
   * comment already above the target (which a new one replaces).
   */
  readonly docAnchor: { readonly start: number; readonly end: number };
}

export interface HoverTarget {
  /** The identifier under the cursor, if any. */
  readonly symbol?: { readonly name: string; readonly start: number; readonly end: number };
  /** The code that explains it: the enclosing declaration, else a window around the cursor. */
  readonly scope: ActionTarget;
}

export interface TargetOptions {
  /** A declaration longer than this is too large to send to a model (the user should select a part). */
  readonly maxChars: number;
}

export type TargetResult =
  | { readonly target: ActionTarget }
  /** No target here (blank line, nothing around the cursor), or why the one found cannot be used. */
  | { readonly target?: undefined; readonly reason: string };

const IDENTIFIER = /^(identifier|property_identifier|type_identifier|shorthand_property_identifier|private_property_identifier|shorthand_property_identifier_pattern|statement_identifier)$/;
const WORD = /[\p{L}\p{N}_$]/u;

/** The target of a code action for `selection` (offsets; equal for a bare cursor). */
export function findActionTarget(doc: OpenDocument, selection: { start: number; end: number }, options: TargetOptions): TargetResult {
  const text = doc.textDocument.getText();
  const from = Math.max(0, Math.min(selection.start, selection.end, text.length));
  let to = Math.min(text.length, Math.max(selection.start, selection.end));
  // A range within one word, or of one character, is a cursor: Eglot sends the symbol at point as the range when
  // nothing is selected, and Helix's cursor is a one-character selection.
  if (to - from <= 1 || /^[\p{L}\p{N}_$]+$/u.test(text.slice(from, to))) to = from;
  if (text.slice(from, to).trim() !== '') {
    let start = from;
    let end = to;
    while (start < end && /\s/.test(text[start]!)) start++;
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    if (end - start > options.maxChars)
      return { reason: `the selection is ${end - start} characters; Xencode sends at most ${options.maxChars} to a model (xencode.actions.contextChars does not change this): select less` };
    const lineStart = lineStartOf(text, start);
    return {
      target: {
        start,
        end,
        text: text.slice(start, end),
        kind: 'selection',
        description: 'selection',
        indent: indentOf(text, lineStart),
        docAnchor: { start: lineStart, end: lineStart },
      },
    };
  }
  if (doc.tree && doc.syntax?.targets) {
    const node = innermostTarget(doc, from);
    if (!node) return { reason: 'the cursor is not inside a function, method or class: select the code to work on' };
    const target = declarationTarget(text, node);
    if (target.end - target.start > options.maxChars)
      return { reason: `${target.description} is ${target.end - target.start} characters, more than a model is sent at once (${options.maxChars}): select the part to work on` };
    return { target };
  }
  const paragraph = paragraphAt(text, from);
  if (!paragraph) return { reason: 'the cursor is on a blank line: select the code to work on' };
  if (paragraph.end - paragraph.start > options.maxChars)
    return { reason: `the block around the cursor is ${paragraph.end - paragraph.start} characters, more than a model is sent at once (${options.maxChars}): select the part to work on` };
  return { target: paragraph };
}

/** What a hover at `offset` explains: the symbol under the cursor in its declaration, or the declaration itself. */
export function findHoverTarget(doc: OpenDocument, offset: number, options: TargetOptions): HoverTarget | undefined {
  const text = doc.textDocument.getText();
  if (offset < 0 || offset > text.length) return undefined;
  if (doc.tree && doc.syntax?.targets) {
    const leaf = doc.tree.rootNode.descendantForIndex(offset, offset);
    const symbol = IDENTIFIER.test(leaf.type) && leaf.startIndex <= offset && offset < leaf.endIndex ? { name: leaf.text, start: leaf.startIndex, end: leaf.endIndex } : undefined;
    const node = innermostTarget(doc, offset);
    // Outside any declaration only a symbol is worth explaining (in the code around it).
    if (!node) return symbol ? { symbol, scope: windowAround(text, offset, options.maxChars) } : undefined;
    const scope = declarationTarget(text, node);
    // A symbol that is the declaration's own name explains the declaration.
    const own = symbol && describeNode(node).nameNode?.id === leaf.id ? undefined : symbol;
    if (scope.end - scope.start > options.maxChars) return { ...(own ? { symbol: own } : {}), scope: windowAround(text, offset, options.maxChars) };
    return own ? { symbol: own, scope } : { scope };
  }
  const symbol = wordAt(text, offset);
  if (!symbol) return undefined;
  const paragraph = paragraphAt(text, offset);
  if (!paragraph || paragraph.end - paragraph.start > options.maxChars) return { symbol, scope: windowAround(text, offset, options.maxChars) };
  return { symbol, scope: paragraph };
}

/** The smallest @target node containing `offset` (targets.scm), or undefined. */
function innermostTarget(doc: OpenDocument, offset: number): SyntaxNode | undefined {
  const root = doc.tree!.rootNode;
  const point = doc.textDocument.positionAt(offset);
  // Restricting the query to the cursor's row keeps it cheap on large files; containment is checked below.
  const captures = doc.syntax!.targets!.captures(root, { startPosition: { row: point.line, column: 0 }, endPosition: { row: point.line + 1, column: 0 } });
  let best: SyntaxNode | undefined;
  for (const { node } of captures) {
    if (node.startIndex > offset || node.endIndex < offset) continue;
    if (!best || node.endIndex - node.startIndex < best.endIndex - best.startIndex) best = node;
  }
  return best;
}

/** The target for a node targets.scm captured (widened to an enclosing `export`); dataset mining lists them all. */
export function declarationTarget(text: string, found: SyntaxNode): ActionTarget {
  let node = found;
  // `export function f` / `export default class` / `export const f = …`: the export goes with the declaration.
  if (node.parent?.type === 'export_statement') node = node.parent;
  const lineStart = lineStartOf(text, node.startIndex);
  const { name, what } = describeNode(found);
  return {
    start: node.startIndex,
    end: node.endIndex,
    text: text.slice(node.startIndex, node.endIndex),
    kind: 'declaration',
    description: name ? `${what} ${name}` : what,
    ...(name ? { name } : {}),
    indent: indentOf(text, lineStart),
    docAnchor: docCommentAbove(text, node) ?? { start: lineStart, end: lineStart },
  };
}

/** The doc comment (`/** … *\/`) ending on the line just above `node`, as the range of its whole lines. */
function docCommentAbove(text: string, node: SyntaxNode): { start: number; end: number } | undefined {
  const previous = node.previousSibling;
  if (previous?.type !== 'comment' || !previous.text.startsWith('/**')) return undefined;
  if (node.startPosition.row - previous.endPosition.row !== 1) return undefined;
  const start = lineStartOf(text, previous.startIndex);
  // Only when the comment is alone on its lines (nothing but indentation before it).
  if (text.slice(start, previous.startIndex).trim() !== '') return undefined;
  return { start, end: lineStartOf(text, node.startIndex) };
}

const KIND_WORDS: Record<string, string> = {
  function_declaration: 'function',
  generator_function_declaration: 'function',
  class_declaration: 'class',
  abstract_class_declaration: 'class',
  interface_declaration: 'interface',
  enum_declaration: 'enum',
  type_alias_declaration: 'type',
  internal_module: 'namespace',
  method_definition: 'method',
  public_field_definition: 'method',
  field_definition: 'method',
  pair: 'method',
  expression_statement: 'callback',
};

/** A captured node's name and kind word (function, method, class, callback…). */
export function describeNode(node: SyntaxNode): { name?: string; what: string; nameNode?: SyntaxNode } {
  if (node.type === 'lexical_declaration' || node.type === 'variable_declaration') {
    const declarator = node.namedChildren.find((c) => c.type === 'variable_declarator');
    const value = declarator?.childForFieldName('value');
    const nameNode = declarator?.childForFieldName('name') ?? undefined;
    return { name: nameNode?.text, nameNode, what: value?.type === 'class' ? 'class' : 'function' };
  }
  if (node.type === 'expression_statement') {
    const call = node.firstNamedChild;
    const callee = call?.childForFieldName('function')?.text;
    const firstArgument = call?.childForFieldName('arguments')?.firstNamedChild;
    const label = firstArgument && /^(string|template_string)$/.test(firstArgument.type) ? `${callee}(${firstArgument.text})` : callee;
    return { name: label && label.length <= 60 ? label : callee, what: 'callback' };
  }
  const nameNode = node.childForFieldName('name') ?? node.childForFieldName('key') ?? node.childForFieldName('property') ?? undefined;
  return { name: nameNode?.text, nameNode, what: KIND_WORDS[node.type] ?? node.type.replace(/_/g, ' ') };
}

/** The block of non-blank lines around `offset`; undefined on a blank line. */
function paragraphAt(text: string, offset: number): ActionTarget | undefined {
  const lineStart = lineStartOf(text, offset);
  const lineEnd = lineEndOf(text, offset);
  if (text.slice(lineStart, lineEnd).trim() === '') return undefined;
  let start = lineStart;
  while (start > 0) {
    const previousStart = lineStartOf(text, start - 1);
    if (text.slice(previousStart, start).trim() === '') break;
    start = previousStart;
  }
  let end = lineEnd;
  while (end < text.length) {
    const nextEnd = lineEndOf(text, end + 1);
    if (text.slice(end + 1, nextEnd).trim() === '') break;
    end = nextEnd;
  }
  const indent = indentOf(text, start);
  const from = start + indent.length;
  const to = end - (text.slice(start, end).length - text.slice(start, end).trimEnd().length);
  const firstLine = lineNumber(text, from) + 1;
  const lastLine = lineNumber(text, to) + 1;
  return {
    start: from,
    end: to,
    text: text.slice(from, to),
    kind: 'paragraph',
    description: firstLine === lastLine ? `line ${firstLine}` : `lines ${firstLine}–${lastLine}`,
    indent,
    docAnchor: { start, end: start },
  };
}

/** Whole lines around `offset`, at most `maxChars` (for a symbol in code too large to send whole). */
function windowAround(text: string, offset: number, maxChars: number): ActionTarget {
  let start = lineStartOf(text, Math.max(0, offset - Math.floor(maxChars / 2)));
  if (start < lineStartOf(text, offset) && offset - start > maxChars / 2) start = lineEndOf(text, start) + 1;
  let end = Math.min(text.length, start + maxChars);
  if (end < text.length) end = Math.max(lineEndOf(text, offset), lineStartOf(text, end) - 1);
  const lineStart = lineStartOf(text, start);
  return {
    start,
    end,
    text: text.slice(start, end),
    kind: 'window',
    description: `lines ${lineNumber(text, start) + 1}–${lineNumber(text, end) + 1}`,
    indent: indentOf(text, lineStart),
    docAnchor: { start: lineStart, end: lineStart },
  };
}

function wordAt(text: string, offset: number): HoverTarget['symbol'] {
  if (offset >= text.length || !WORD.test(text[offset]!)) return undefined;
  let start = offset;
  let end = offset;
  while (start > 0 && WORD.test(text[start - 1]!)) start--;
  while (end < text.length && WORD.test(text[end]!)) end++;
  const name = text.slice(start, end);
  return /^\d/.test(name) ? undefined : { name, start, end };
}


function lineEndOf(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  const end = newline < 0 ? text.length : newline;
  return end > 0 && text[end - 1] === '\r' && end > offset ? end - 1 : end;
}

function indentOf(text: string, lineStart: number): string {
  return /^[ \t]*/.exec(text.slice(lineStart, lineStart + 256))![0];
}

function lineNumber(text: string, offset: number): number {
  let line = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
