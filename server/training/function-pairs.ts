import { pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { declarationTarget, describeNode, type ActionTarget } from '../context/action-target.js';
import type { OpenDocument } from '../documents/document-store.js';
import { countSyntaxErrors, languageFor, parse, type SyntaxLanguage, type SyntaxNode } from '../documents/syntax.js';

/**
 * The functions and methods a change rewrote: both versions of a file parsed with the project's grammars, the
 * declarations its targets.scm names (what a code action works on) matched by name, kind and the declarations around
 * them, and each changed one kept as a before/after pair when it makes a clean training example.
 */

/** Target kinds that are code to rewrite; classes, interfaces, types… change whenever a member does. */
const FUNCTION_KINDS = new Set(['function', 'method', 'callback']);

/** Nodes whose text is one token: what is inside a string is content, not layout. */
const ATOMIC = new Set(['string', 'template_string', 'regex']);

export type PairSkip = 'parseFailed' | 'syntaxErrors' | 'unmatched' | 'ambiguous' | 'layoutOnly' | 'tooLarge';

export interface FunctionPair {
  /** "class Stack > method push": the declarations around it and its own kind and name. */
  readonly key: string;
  readonly before: ActionTarget;
  readonly after: ActionTarget;
  /** The file before the change, as the editor would hold it: what the action's prompt is built from. */
  readonly beforeDoc: OpenDocument;
}

export interface FilePairs {
  readonly pairs: FunctionPair[];
  readonly skipped: Partial<Record<PairSkip, number>>;
}

/** The grammar for a repository path (by its extension), when it has targets to find. */
export function grammarFor(path: string): SyntaxLanguage | undefined {
  const syntax = languageFor('', path);
  return syntax?.targets ? syntax : undefined;
}

interface Found {
  readonly key: string;
  readonly node: SyntaxNode;
  readonly target: ActionTarget;
}

/**
 * The changed functions of one file between `beforeText` and `afterText`. A pair is skipped (and counted) when a
 * file does not parse in time, either side has syntax errors, the function has no counterpart (renamed, added or
 * removed), its name is not unique there, only comments or layout changed, or either side is over `maxChars`.
 */
export function changedFunctions(path: string, beforeText: string, afterText: string, maxChars: number): FilePairs {
  const skipped: Partial<Record<PairSkip, number>> = {};
  const skip = (why: PairSkip) => void (skipped[why] = (skipped[why] ?? 0) + 1);
  const syntax = grammarFor(path);
  if (!syntax) return { pairs: [], skipped };
  const beforeTree = parse(syntax, beforeText);
  const beforeFunctions = beforeTree && functionsOf(syntax, beforeTree.rootNode, beforeText);
  const afterTree = parse(syntax, afterText);
  const afterFunctions = afterTree && functionsOf(syntax, afterTree.rootNode, afterText);
  if (!beforeFunctions || !afterFunctions) {
    skip('parseFailed');
    return { pairs: [], skipped };
  }
  const changed: { before: Found; after: Found }[] = [];
  for (const [key, before] of beforeFunctions) {
    const after = afterFunctions.get(key);
    if (after === undefined) {
      skip('unmatched');
      continue;
    }
    if (before === null || after === null) {
      if (before === null && after === null) skip('ambiguous');
      else skip('unmatched');
      continue;
    }
    if (before.target.text !== after.target.text) changed.push({ before, after });
  }
  for (const key of afterFunctions.keys()) if (!beforeFunctions.has(key)) skip('unmatched');

  const pairs: FunctionPair[] = [];
  const beforeDoc = documentOf(path, syntax, beforeText, beforeTree);
  for (const change of changed) {
    // A change made entirely inside a nested function is that function's pair, not its container's too.
    if (changed.some((inner) => inner !== change && inner.before.key.startsWith(`${change.before.key} > `) && explains(change, inner))) continue;
    if (!tokensDiffer(change.before.node, change.after.node)) {
      skip('layoutOnly');
      continue;
    }
    if (countSyntaxErrors(change.before.node) > 0 || countSyntaxErrors(change.after.node) > 0) {
      skip('syntaxErrors');
      continue;
    }
    if (change.before.target.text.length > maxChars || change.after.target.text.length > maxChars) {
      skip('tooLarge');
      continue;
    }
    pairs.push({ key: change.before.key, before: change.before.target, after: change.after.target, beforeDoc });
  }
  return { pairs, skipped };
}

/**
 * The file's functions by key; null for a key that occurs more than once (overloaded callbacks such as two
 * `it('works')`, or same-named functions in sibling blocks), which cannot be matched.
 */
function functionsOf(syntax: SyntaxLanguage, root: SyntaxNode, text: string): Map<string, Found | null> {
  const captured = syntax.targets!.captures(root).map((c) => c.node);
  const ids = new Map(captured.map((node) => [node.id, node]));
  const found = new Map<string, Found | null>();
  for (const node of captured) {
    const { name, what } = describeNode(node);
    if (!FUNCTION_KINDS.has(what)) continue;
    const labels = [`${what} ${name ?? '?'}`];
    for (let up = node.parent; up; up = up.parent) {
      const outer = ids.get(up.id);
      if (outer) labels.unshift(`${describeNode(outer).what} ${describeNode(outer).name ?? '?'}`);
    }
    const key = labels.join(' > ');
    found.set(key, found.has(key) ? null : { key, node, target: declarationTarget(text, node) });
  }
  return found;
}

/** Whether replacing `inner`'s before text by its after text inside `outer`'s before text gives `outer`'s after text. */
function explains(outer: { before: Found; after: Found }, inner: { before: Found; after: Found }): boolean {
  const o = outer.before.target;
  const i = inner.before.target;
  if (i.start < o.start || i.end > o.end) return false;
  const rebuilt = o.text.slice(0, i.start - o.start) + inner.after.target.text + o.text.slice(i.end - o.start);
  return rebuilt === outer.after.target.text;
}

/** Whether the two nodes differ in their tokens, comments left out (a change of layout or comments only is not). */
function tokensDiffer(before: SyntaxNode, after: SyntaxNode): boolean {
  const a = tokens(before);
  const b = tokens(after);
  return a.length !== b.length || a.some((t, i) => t !== b[i]);
}

function tokens(node: SyntaxNode, out: string[] = []): string[] {
  if (node.type === 'comment') return out;
  if (node.childCount === 0 || ATOMIC.has(node.type)) {
    out.push(`${node.type}\u0000${node.text}`);
    return out;
  }
  for (const child of node.children) tokens(child, out);
  return out;
}

/** An open document for `text`, as the document store would hold it, so the action's context is built the same way. */
function documentOf(path: string, syntax: SyntaxLanguage, text: string, tree: OpenDocument['tree']): OpenDocument {
  const uri = pathToFileURL(`/${path}`).href;
  const languageId = syntax.entry.languageIds[0] ?? syntax.entry.name;
  return { uri, languageId, version: 0, textDocument: TextDocument.create(uri, languageId, 0, text), syntax, tree, binary: false };
}
