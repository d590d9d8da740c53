/**
 * A SAFIM-style fill-in-the-middle set built with tree-sitter from real TypeScript sources (zod's own sources in
 * node_modules, plus the few other `.ts` sources shipped there). Files that parse with any ERROR or MISSING node
 * are skipped. Each case masks one syntactic span — the middle — and keeps the text around it, cut to windows
 * (about 4,000 characters before, 2,000 after, on line boundaries), as prefix and suffix:
 *
 * - block: the body of a `statement_block` (from its first statement to the end of its last);
 * - control: a control-flow condition — the expression inside `if (…)`, `while (…)`, `do … while (…)`, the
 *   condition of a `for (…; cond; …)`, or the condition of a ternary;
 * - call: a whole `call_expression`, or the inside of its `arguments` (chosen at random per node);
 * - line: a node that is exactly one whole line (from its first non-blank character to the line's end);
 * - multiline: a statement-like node that spans 2 to 15 whole lines (blocks excluded: that is the block category).
 *
 * Trivial middles (fewer than 3 non-blank characters, or only closers like `}`) and long ones (more than 15 lines)
 * are dropped; at most `perFileCap` cases per file and category are kept. Everything is deterministic for a seed:
 * files are read in sorted order and every choice comes from a seeded generator. The set is rebuilt on each run
 * rather than stored.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { countSyntaxErrors, languageByName, parse, type SyntaxLanguage, type SyntaxNode } from '../../server/documents/syntax.js';
import { PACKAGE_ROOT } from '../../server/paths.js';

export const FIM_CATEGORIES = ['block', 'control', 'call', 'line', 'multiline'] as const;
export type FimCategory = (typeof FIM_CATEGORIES)[number];

export interface FimCase {
  /** The package the file comes from ('zod' for zod's sources). */
  readonly repo: string;
  /** Path of the file inside its package (forward slashes). */
  readonly path: string;
  /** The middle's offsets in the whole file (UTF-16 code units). */
  readonly startOffset: number;
  readonly endOffset: number;
  /**
   * The tree-sitter type of the masked node; for control, the construct whose condition is masked ('if_statement',
   * 'ternary_expression'…); for block, 'statement_block' (its statements are masked, not the braces); 'arguments'
   * for the inside of an argument list.
   */
  readonly nodeType: string;
  readonly category: FimCategory;
  /** file.slice(startOffset - prefix.length, startOffset) */
  readonly prefix: string;
  /** file.slice(endOffset, endOffset + suffix.length) */
  readonly suffix: string;
  /** file.slice(startOffset, endOffset) */
  readonly middle: string;
}

export interface SourceFile {
  readonly repo: string;
  /** Path inside the package. */
  readonly path: string;
  readonly absolutePath: string;
}

export interface BuildFimOptions {
  /** Seed for every random choice. Default 1. */
  readonly seed?: number;
  /** At most this many cases in all, balanced over the categories (round robin in seeded order). Default: all. */
  readonly maxCases?: number;
  /** At most this many cases per file and category. Default 4. */
  readonly perFileCap?: number;
  /** Characters of context kept before / after the middle (cut back to whole lines). Defaults 4000 / 2000. */
  readonly prefixChars?: number;
  readonly suffixChars?: number;
  /** Middles with more lines than this are dropped. Default 15. */
  readonly maxLines?: number;
  /** The files to use. Default: `defaultSourceFiles()`. */
  readonly files?: readonly SourceFile[];
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness (shared with the simulated models)

/** A 32-bit hash of a string (FNV-1a followed by a murmur-style finaliser). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A small seeded generator (mulberry32) with the helpers the benchmark needs. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A generator whose stream depends only on these keys (order matters). */
  static from(...keys: readonly (string | number)[]): Rng {
    return new Rng(hash32(keys.join('\u0000')));
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher–Yates shuffle; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Source files

function walkTs(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const full = join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(full).isDirectory();
    } catch {
      continue;
    }
    if (isDir) walkTs(full, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
}

/**
 * zod's sources (`src/v3`, `src/v4`, without their test folders and without the 40-odd near-identical locale
 * files, which would mostly repeat one case) plus the other `.ts` sources shipped in node_modules
 * (ollama, @jridgewell/sourcemap-codec). Sorted, so the set does not depend on directory order.
 */
export function defaultSourceFiles(root: string = join(PACKAGE_ROOT, 'node_modules')): SourceFile[] {
  const roots: { repo: string; dir: string }[] = [
    { repo: 'zod', dir: join(root, 'zod') },
    { repo: 'ollama', dir: join(root, 'ollama') },
    { repo: '@jridgewell/sourcemap-codec', dir: join(root, '@jridgewell', 'sourcemap-codec') },
  ];
  const files: SourceFile[] = [];
  for (const { repo, dir } of roots) {
    const found: string[] = [];
    walkTs(join(dir, 'src'), found);
    for (const absolutePath of found) {
      const path = relative(dir, absolutePath).split(sep).join('/');
      if (/(^|\/)(tests?|__tests__|benchmarks|locales)\//.test(path)) continue;
      files.push({ repo, path, absolutePath });
    }
  }
  return files.sort((a, b) => (a.repo + '/' + a.path < b.repo + '/' + b.path ? -1 : a.repo + '/' + a.path > b.repo + '/' + b.path ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------------------------
// Span selection

interface Span {
  readonly start: number;
  readonly end: number;
  readonly nodeType: string;
}

/** Types never masked as a single or multi-line node. */
const NOT_A_LINE_NODE = new Set(['program', 'comment', 'statement_block', 'class_body', 'object_type', 'interface_body', 'enum_body', 'ERROR']);

const MULTILINE_TYPE = /(_statement|_declaration|^method_definition|^public_field_definition|^abstract_method_signature|^method_signature|^property_signature|^pair)$/;

function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}

function lineEnd(text: string, at: number): number {
  const nl = text.indexOf('\n', at);
  return nl === -1 ? text.length : nl;
}

/** The node starts at its line's first non-blank character and ends at its line's last non-blank character. */
function isWholeLines(text: string, start: number, end: number): boolean {
  if (text.slice(lineStart(text, start), start).trim() !== '') return false;
  return text.slice(end, lineEnd(text, end)).trim() === '';
}

function lineCount(text: string): number {
  let n = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Fewer than 3 non-blank characters, or nothing but closing brackets and punctuation. */
export function isTrivialMiddle(middle: string): boolean {
  const solid = middle.replace(/\s+/g, '');
  if (solid.length < 3) return true;
  return /^[)\]};,]*$/.test(solid);
}

function collectSpans(root: SyntaxNode, text: string, rng: Rng): Map<FimCategory, Span[]> {
  const spans = new Map<FimCategory, Span[]>(FIM_CATEGORIES.map((c) => [c, []]));
  const add = (category: FimCategory, start: number, end: number, nodeType: string) => spans.get(category)!.push({ start, end, nodeType });

  const visit = (node: SyntaxNode, insideLine: boolean): void => {
    switch (node.type) {
      case 'statement_block': {
        const statements = node.namedChildren;
        if (statements.length > 0) add('block', statements[0]!.startIndex, statements[statements.length - 1]!.endIndex, 'statement_block');
        break;
      }
      case 'if_statement':
      case 'while_statement':
      case 'do_statement': {
        const condition = node.childForFieldName('condition');
        const inner = condition?.type === 'parenthesized_expression' ? condition.namedChildren[0] : condition;
        if (inner) add('control', inner.startIndex, inner.endIndex, node.type);
        break;
      }
      case 'for_statement': {
        const condition = node.childForFieldName('condition');
        if (condition && condition.type !== 'empty_statement') {
          // The condition may come as an expression statement `i < n;`: mask the expression only.
          const inner = condition.type === 'expression_statement' ? condition.namedChildren[0] : condition;
          if (inner) add('control', inner.startIndex, inner.endIndex, node.type);
        }
        break;
      }
      case 'ternary_expression': {
        const condition = node.childForFieldName('condition');
        if (condition) add('control', condition.startIndex, condition.endIndex, node.type);
        break;
      }
      case 'call_expression': {
        const args = node.childForFieldName('arguments');
        const useArgs = args !== null && args.type === 'arguments' && args.namedChildCount > 0 && rng.next() < 0.5;
        if (useArgs) {
          const inner = args.namedChildren;
          add('call', inner[0]!.startIndex, inner[inner.length - 1]!.endIndex, 'arguments');
        } else {
          add('call', node.startIndex, node.endIndex, 'call_expression');
        }
        break;
      }
    }
    let lineTaken = insideLine;
    if (!insideLine && node.isNamed && !NOT_A_LINE_NODE.has(node.type) && isWholeLines(text, node.startIndex, node.endIndex)) {
      const lines = node.endPosition.row - node.startPosition.row + 1;
      if (lines === 1) {
        // The outermost node covering the line: nodes inside it are not line cases of their own.
        add('line', node.startIndex, node.endIndex, node.type);
        lineTaken = true;
      } else if (MULTILINE_TYPE.test(node.type)) {
        add('multiline', node.startIndex, node.endIndex, node.type);
      }
    }
    for (const child of node.namedChildren) visit(child, lineTaken);
  };
  visit(root, false);
  return spans;
}

/** Where the prefix window starts: about `chars` before `at`, moved forward to a line start. */
function windowStart(text: string, at: number, chars: number): number {
  if (at <= chars) return 0;
  const from = at - chars;
  const nl = text.indexOf('\n', from);
  return nl === -1 || nl >= at ? from : nl + 1;
}

/** Where the suffix window ends: about `chars` after `at`, moved back to a line end (keeping the newline). */
function windowEnd(text: string, at: number, chars: number): number {
  if (at + chars >= text.length) return text.length;
  const to = at + chars;
  const nl = text.lastIndexOf('\n', to - 1);
  return nl < at ? to : nl + 1;
}

let typescript: SyntaxLanguage | undefined;

export function typescriptLanguage(): SyntaxLanguage {
  typescript ??= languageByName('typescript');
  if (!typescript) throw new Error('bench: the tree-sitter TypeScript grammar failed to load');
  return typescript;
}

/** The cases of one file (capped per category), or none when the file does not parse cleanly. */
export function fimCasesForFile(file: SourceFile, text: string, options: BuildFimOptions = {}): FimCase[] {
  const seed = options.seed ?? 1;
  const cap = options.perFileCap ?? 4;
  const prefixChars = options.prefixChars ?? 4000;
  const suffixChars = options.suffixChars ?? 2000;
  const maxLines = options.maxLines ?? 15;
  const language = typescriptLanguage();
  const tree = parse(language, text);
  if (!tree || countSyntaxErrors(tree.rootNode) > 0) return [];
  const rng = Rng.from(seed, file.repo, file.path);
  const spans = collectSpans(tree.rootNode, text, rng);
  const cases: FimCase[] = [];
  for (const category of FIM_CATEGORIES) {
    const seen = new Set<string>();
    const usable = spans.get(category)!.filter((span) => {
      const key = `${span.start}:${span.end}`;
      if (seen.has(key) || span.end <= span.start) return false;
      seen.add(key);
      const middle = text.slice(span.start, span.end);
      return !isTrivialMiddle(middle) && lineCount(middle) <= maxLines;
    });
    for (const span of rng.shuffle(usable).slice(0, cap)) {
      const from = windowStart(text, span.start, prefixChars);
      const to = windowEnd(text, span.end, suffixChars);
      cases.push({
        repo: file.repo,
        path: file.path,
        startOffset: span.start,
        endOffset: span.end,
        nodeType: span.nodeType,
        category,
        prefix: text.slice(from, span.start),
        suffix: text.slice(span.end, to),
        middle: text.slice(span.start, span.end),
      });
    }
  }
  return cases;
}

/** The whole set: every file's capped cases, then (with `maxCases`) a seeded selection balanced over categories. */
export function buildFimCases(options: BuildFimOptions = {}): FimCase[] {
  const seed = options.seed ?? 1;
  const files = options.files ?? defaultSourceFiles();
  const byCategory = new Map<FimCategory, FimCase[]>(FIM_CATEGORIES.map((c) => [c, []]));
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file.absolutePath, 'utf8');
    } catch {
      continue;
    }
    for (const fim of fimCasesForFile(file, text, options)) byCategory.get(fim.category)!.push(fim);
  }
  const limit = options.maxCases;
  if (limit === undefined) return FIM_CATEGORIES.flatMap((c) => byCategory.get(c)!);
  const rng = Rng.from(seed, 'select');
  const pools = FIM_CATEGORIES.map((c) => rng.shuffle([...byCategory.get(c)!]));
  const chosen: FimCase[] = [];
  for (let round = 0; chosen.length < limit && pools.some((p) => round < p.length); round++) {
    for (const pool of pools) {
      if (chosen.length >= limit) break;
      if (round < pool.length) chosen.push(pool[round]!);
    }
  }
  // A stable order (file, then offset) so that a case's index does not depend on the round robin.
  return chosen.sort((a, b) => (a.repo + a.path < b.repo + b.path ? -1 : a.repo + a.path > b.repo + b.path ? 1 : a.startOffset - b.startOffset || a.endOffset - b.endOffset));
}

/** Number of cases per category. */
export function countByCategory(cases: readonly FimCase[]): Record<FimCategory, number> {
  const counts = Object.fromEntries(FIM_CATEGORIES.map((c) => [c, 0])) as Record<FimCategory, number>;
  for (const c of cases) counts[c.category]++;
  return counts;
}
