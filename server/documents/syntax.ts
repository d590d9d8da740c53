import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import Parser from 'tree-sitter';
import { LANGUAGES, type LanguageEntry } from '../../grammars/languages.js';
import { PACKAGE_ROOT } from '../paths.js';

export type Tree = Parser.Tree;
export type SyntaxNode = Parser.SyntaxNode;
export type Point = Parser.Point;

/** A parseable language: its grammar, one reusable parser, and its compiled queries. */
export interface SyntaxLanguage {
  readonly entry: LanguageEntry;
  readonly parser: Parser;
  /** Captures `@scope` (a function/class/method node) and `@body` (where its header ends). */
  readonly scopes?: Parser.Query;
  /** Captures `@import` (import/require statements). */
  readonly imports?: Parser.Query;
  /** Captures `@target`: what a code action or hover works on when nothing is selected (functions, classes…). */
  readonly targets?: Parser.Query;
}

const require = createRequire(import.meta.url);
const loaded = new Map<string, SyntaxLanguage | null>();

/**
 * A query file's source; a first line `; inherits: a, b` prepends those folders' file of the same name (as
 * nvim-treesitter does), so patterns the grammars share are written once.
 */
export function querySource(folder: string, file: string): string | undefined {
  const path = join(PACKAGE_ROOT, 'grammars', 'queries', folder, file);
  if (!existsSync(path)) return undefined;
  const source = readFileSync(path, 'utf8');
  const inherits = /^;\s*inherits:\s*(.+)$/m.exec(source.split('\n', 1)[0]!);
  const parents = inherits ? inherits[1]!.split(',').map((p) => querySource(p.trim(), file) ?? '') : [];
  return [...parents, source].join('\n');
}

function loadQuery(language: unknown, folder: string, file: string): Parser.Query | undefined {
  const source = querySource(folder, file);
  return source === undefined ? undefined : new Parser.Query(language, source);
}

function load(entry: LanguageEntry): SyntaxLanguage | null {
  const cached = loaded.get(entry.name);
  if (cached !== undefined) return cached;
  let result: SyntaxLanguage | null = null;
  try {
    const mod = require(entry.grammarPackage) as Record<string, unknown>;
    const language = entry.grammarExport ? mod[entry.grammarExport] : mod;
    const parser = new Parser();
    parser.setLanguage(language);
    result = {
      entry,
      parser,
      scopes: loadQuery(language, entry.queries, 'scopes.scm'),
      imports: loadQuery(language, entry.queries, 'imports.scm'),
      targets: loadQuery(language, entry.queries, 'targets.scm'),
    };
  } catch (err) {
    // A grammar that fails to load degrades that language to plain text; it must not stop the server.
    process.stderr.write(`xencode: grammar ${entry.grammarPackage} failed to load: ${(err as Error).message}\n`);
  }
  loaded.set(entry.name, result);
  return result;
}

/** The language for a document: by languageId first, then by the file extension of its URI. */
export function languageFor(languageId: string, uri: string): SyntaxLanguage | undefined {
  const byId = LANGUAGES.find((l) => l.languageIds.includes(languageId));
  if (byId) return load(byId) ?? undefined;
  let ext = '';
  try {
    ext = extname(new URL(uri).pathname).toLowerCase();
  } catch {
    ext = extname(uri).toLowerCase();
  }
  const byExt = ext ? LANGUAGES.find((l) => l.extensions.includes(ext)) : undefined;
  return byExt ? (load(byExt) ?? undefined) : undefined;
}

export function languageByName(name: string): SyntaxLanguage | undefined {
  const entry = LANGUAGES.find((l) => l.name === name);
  return entry ? (load(entry) ?? undefined) : undefined;
}

/** Chunk size handed to tree-sitter's input callback; node-tree-sitter rejects plain strings over 32 KiB. */
const CHUNK = 16 * 1024;

/**
 * How long one parse may take, in milliseconds: generous for real files (tree-sitter parses a 2 MiB TypeScript
 * file in about half a second here, more with heavy error recovery), short enough that a grammar caught in a loop
 * (tree-sitter-typescript 0.23 never finishes on some 19-character inputs, growing ~11 MB/s) costs one pause.
 */
export function parseBudgetMs(chars: number): number {
  return 250 + Math.ceil(chars / 1024);
}

/**
 * Parses `text`, incrementally when `oldTree` has been edited to match it. Every parse is bounded (a grammar must
 * never be able to take the server down): undefined when it ran past `budgetMs`, and the parser is reset so the
 * next parse starts afresh instead of resuming the abandoned one.
 */
export function parse(language: SyntaxLanguage, text: string, oldTree?: Tree, budgetMs = parseBudgetMs(text.length)): Tree | undefined {
  const { parser } = language;
  parser.setTimeoutMicros(budgetMs * 1000);
  const tree = text.length < CHUNK
    ? parser.parse(text, oldTree)
    : parser.parse((index: number) => text.slice(index, index + CHUNK), oldTree);
  // node-tree-sitter returns null (typed as Tree) when the timeout ends the parse.
  if (tree) return tree;
  parser.reset();
  return undefined;
}

/** Number of ERROR and MISSING nodes under `node`: the measure "parses no worse than" compares. */
export function countSyntaxErrors(node: SyntaxNode): number {
  // hasError covers the node and its descendants, so only erroneous subtrees are walked.
  if (!node.hasError && !node.isMissing) return 0;
  let count = node.type === 'ERROR' || node.isMissing ? 1 : 0;
  for (const child of node.children) count += countSyntaxErrors(child);
  return count;
}

/** Errors in `text` parsed on its own with `language`; undefined when the parser gave up (see `parse`). */
export function countErrorsInText(language: SyntaxLanguage, text: string): number | undefined {
  const tree = parse(language, text);
  return tree ? countSyntaxErrors(tree.rootNode) : undefined;
}
