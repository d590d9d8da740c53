import type { SyntaxLanguage } from '../../documents/syntax.js';
import { type CommentStyle, commentStyle, dedent, finish, isBlank, stripThinking, toLines } from './answer-text.js';
import { FENCE, fenceTag, findFences, outsideFences, rankFences } from './fences.js';
import { extractBare, hasCodePunctuation, isProseLine, plain } from './prose.js';

export { stripThinking } from './answer-text.js';

/**
 * From a chat model's answer to a code action to the text to insert. Chat models rarely answer with bare code: they
 * think aloud first (`<think>` blocks of reasoning models), wrap the code in markdown fences, write "Here is the
 * refactored code:" before it and explain the change after it, show the old version next to the new one, and add
 * the shell command that installs a package. These functions keep what the action asked for: the code, the doc
 * comment, or (for "explain") the markdown. They are pure, text in and text out, with '\n' line breaks; indentation
 * and line endings are reindent.ts's job.
 */

export interface ExtractOptions {
  /** The document's grammar: it decides which lines around bare code are prose. Without one, line heuristics do. */
  readonly language?: SyntaxLanguage;
  /** The document's LSP languageId: which fence tags match, which comment syntax applies. */
  readonly languageId: string;
}

export interface ExtractedCode {
  readonly code: string;
  /** 'fence': the content of a markdown code block; 'bare': the answer without the prose around it. */
  readonly source: 'fence' | 'bare';
}

// ---------------------------------------------------------------------------------------------------------------
// The three answers

/**
 * The code of an answer. Fenced blocks first: the best by tag, label and length (see rankFences). A block in another
 * language (the `bash` line that installs a package) is taken only when the text outside the fences holds no code.
 * No fence: the answer minus its leading and trailing prose. Undefined when nothing code-like remains.
 */
export function extractCode(answer: string, options: ExtractOptions): ExtractedCode | undefined {
  const lines = toLines(stripThinking(answer));
  const fences = findFences(lines);
  const best = rankFences(lines, fences, options.languageId)[0];
  if (best && best.score > 0) return { code: finish(best.lines), source: 'fence' };
  const bare = extractBare(outsideFences(lines, fences), options);
  if (bare !== undefined) return { code: bare, source: 'bare' };
  if (best) return { code: finish(best.lines), source: 'fence' };
  return undefined;
}

/**
 * The answer to "explain", as markdown: reasoning stripped, trimmed, and unwrapped when the model put the whole of
 * it in one ```markdown (or ```md) block. Blocks inside it are fine; a wrapper never closed is unwrapped too.
 */
export function extractMarkdown(answer: string): string {
  const text = stripThinking(answer).replace(/\r\n?/g, '\n').trim();
  const lines = text.split('\n');
  const open = FENCE.exec(lines[0]!);
  if (!open || !['markdown', 'md'].includes(fenceTag(open[3]!))) return text;
  const marker = open[2]!;
  const isFence = (line: string): RegExpExecArray | null => FENCE.exec(line);
  const isCloser = (line: string): boolean =>
    new RegExp(`^[ \\t]*${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`).test(line);
  // The inner lines are the whole answer when their own fences pair up: a tagged opener, then a bare closer.
  const pairsUp = (inner: readonly string[]): boolean => {
    let inside = false;
    for (const line of inner) {
      const m = isFence(line);
      if (!m || m[2]![0] !== marker[0]) continue;
      const tagged = m[3]!.trim() !== '';
      if (inside && tagged) return false;
      inside = !inside;
    }
    return !inside;
  };
  const last = lines.length - 1;
  if (last > 0 && isCloser(lines[last]!) && pairsUp(lines.slice(1, last))) return finish(lines.slice(1, last));
  if (pairsUp(lines.slice(1))) return finish(lines.slice(1));
  return text;
}

interface CommentBlock {
  /** Line range [start, end) in the lines it was read from. */
  readonly start: number;
  readonly end: number;
  /** 'doc': `/** … *\/`; 'docstring': Python triple quotes; 'block': `/* … *\/`; 'line': a run of line comments. */
  readonly kind: 'doc' | 'docstring' | 'block' | 'line';
  readonly lines: readonly string[];
}

const DOCSTRING_OPEN = /^\s*[rRuUbB]{0,2}("""|''')/;

/**
 * The comment starting on line `i`: a block comment up to its `*\/` (what follows on that line is cut), a docstring
 * up to its closing quotes, or a run of consecutive line comments. Undefined when the line starts no comment; null
 * when the comment is never closed.
 */
function readComment(lines: readonly string[], i: number, style: CommentStyle): CommentBlock | undefined | null {
  const line = lines[i]!;
  const t = line.trim();
  if (style.slash && t.startsWith('/*')) {
    const kind = /^\/\*\*(?!\/)/.test(t) ? 'doc' : 'block';
    let from = line.indexOf('/*') + 2;
    for (let j = i; j < lines.length; j++) {
      const at = lines[j]!.indexOf('*/', j === i ? from : 0);
      if (at !== -1) {
        const block = lines.slice(i, j + 1);
        block[block.length - 1] = lines[j]!.slice(0, at + 2);
        return { start: i, end: j + 1, kind, lines: block };
      }
      from = 0;
    }
    return null;
  }
  const docstring = style.docstring ? DOCSTRING_OPEN.exec(line) : null;
  if (docstring) {
    const quotes = docstring[1]!;
    const from = docstring.index + docstring[0].length;
    for (let j = i; j < lines.length; j++) {
      const at = lines[j]!.indexOf(quotes, j === i ? from : 0);
      if (at !== -1) {
        const block = lines.slice(i, j + 1);
        block[block.length - 1] = lines[j]!.slice(0, at + 3);
        return { start: i, end: j + 1, kind: 'docstring', lines: block };
      }
    }
    return null;
  }
  const marker =
    style.slash && t.startsWith('//') ? '//' : style.hash && /^#(?!!)/.test(t) ? '#' : style.dash && t.startsWith('--') ? '--' : '';
  if (!marker) return undefined;
  let j = i;
  while (j < lines.length && lines[j]!.trim().startsWith(marker) && !(marker === '#' && /^\s*#!/.test(lines[j]!))) j++;
  return { start: i, end: j, kind: 'line', lines: lines.slice(i, j) };
}

/** The docstring of the first `def`/`class` at line `i` (decorators before it allowed), when it has one. */
function docstringAfterDef(lines: readonly string[], i: number, style: CommentStyle): CommentBlock | undefined {
  let at = i;
  while (at < lines.length && /^\s*@/.test(lines[at]!)) at++;
  if (at >= lines.length || !/^\s*(?:async\s+)?(?:def|class)\s/.test(lines[at]!)) return undefined;
  // The signature ends on the first line whose code ends with ':'.
  while (at < lines.length && !/:\s*(?:#.*)?$/.test(lines[at]!)) at++;
  at++;
  while (at < lines.length && isBlank(lines[at]!)) at++;
  if (at >= lines.length) return undefined;
  const block = readComment(lines, at, style);
  return block && block.kind === 'docstring' ? block : undefined;
}

/**
 * The doc comment in some lines: the comments at the top (prose and a shebang before them skipped), of which the last doc comment
 * (`/** *\/`, a docstring), else the last one, so a `// file: a.ts` line above the JSDoc is not taken. Python: the
 * docstring of the function or class the model returned, before any '#' comment. When nothing leads, the first
 * `/** *\/` anywhere (a method's doc inside the class the model returned).
 */
function findDocComment(lines: readonly string[], style: CommentStyle): readonly string[] | undefined {
  const blocks: CommentBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (isBlank(line)) {
      i++;
      continue;
    }
    const block = readComment(lines, i, style);
    if (block === null) break;
    if (block) {
      blocks.push(block);
      i = block.end;
      continue;
    }
    const t = plain(line);
    const skippable = /^\s*#!/.test(line) || isProseLine(line, style.hash) || (!hasCodePunctuation(t) && /^\p{L}.*\s/u.test(t));
    if (blocks.length === 0 && skippable) {
      i++;
      continue;
    }
    break;
  }
  const isDoc = (b: CommentBlock): boolean => b.kind === 'doc' || b.kind === 'docstring';
  if (style.docstring) {
    const leading = blocks.filter((b) => b.kind === 'docstring').pop() ?? docstringAfterDef(lines, i, style);
    if (leading) return leading.lines;
  }
  const chosen = blocks.filter(isDoc).pop() ?? blocks[blocks.length - 1];
  if (chosen) return chosen.lines;
  if (style.slash) {
    for (let j = i; j < lines.length; j++) {
      if (!/^\s*\/\*\*(?!\/)/.test(lines[j]!)) continue;
      const block = readComment(lines, j, style);
      if (block) return block.lines;
    }
  }
  return undefined;
}

/**
 * The doc comment of an answer to "add documentation": from the best fence (then the others, then the text outside
 * them), the comment the model wrote; when it returned the whole function with the comment on top, only the comment.
 * Its common indentation is removed. Undefined when there is none (or it is never closed).
 */
export function extractDocComment(answer: string, options: { languageId: string }): string | undefined {
  const lines = toLines(stripThinking(answer));
  const fences = findFences(lines);
  const style = commentStyle(options.languageId);
  const sources = [...rankFences(lines, fences, options.languageId).map((f) => f.lines), outsideFences(lines, fences)];
  for (const source of sources) {
    const found = findDocComment(source, style);
    if (found) {
      const text = finish(dedent(found));
      if (text !== '') return text;
    }
  }
  return undefined;
}
