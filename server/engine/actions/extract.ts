import { countErrorsInText, type SyntaxLanguage } from '../../documents/syntax.js';

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
// Reasoning blocks

const THINK_OPEN = /^[ \t]*<(?:think|thinking)>/m;
/** A closing tag that ends its line: where a block opened by the template ends. */
const THINK_CLOSE = /<\/(?:think|thinking)>[ \t]*(?:\r?\n|$)/;
const THINK_BLOCK = /^[ \t]*<(?:think|thinking)>[\s\S]*?<\/(?:think|thinking)>/gm;

/**
 * The answer without its reasoning: `<think>…</think>` and `<thinking>…</thinking>` blocks (opened at the start of
 * a line, so a tag inside a string in the code is left alone). A closing tag ending its line with no opening tag
 * before it means the chat template opened the block in the prompt (DeepSeek-R1, Qwen3): everything up to it goes. An opening tag that
 * is never closed means the model stopped while still thinking: everything from it goes. Leading blank lines and
 * trailing whitespace left by a removed block go too; an answer without tags is returned as it is.
 */
export function stripThinking(answer: string): string {
  let text = answer;
  let changed = false;
  const close = THINK_CLOSE.exec(text);
  const open = THINK_OPEN.exec(text);
  if (close && (!open || close.index < open.index)) {
    text = text.slice(close.index + close[0].length);
    changed = true;
  }
  const withoutBlocks = text.replace(THINK_BLOCK, '');
  if (withoutBlocks !== text) {
    text = withoutBlocks;
    changed = true;
  }
  const unclosed = THINK_OPEN.exec(text);
  if (unclosed) {
    text = text.slice(0, unclosed.index);
    changed = true;
  }
  return changed ? text.replace(/^\s*\n/, '').trimEnd() : text;
}

// ---------------------------------------------------------------------------------------------------------------
// Languages: fence tags and comment syntax

interface Family {
  readonly name: string;
  /** LSP languageIds of the family. */
  readonly ids: readonly string[];
  /** Fence tags models write for it (lower case). */
  readonly tags: readonly string[];
  /** A family whose code is acceptable when no block of this one is there (JavaScript for TypeScript). */
  readonly related?: string;
}

const FAMILIES: readonly Family[] = [
  {
    name: 'typescript',
    ids: ['typescript', 'typescriptreact'],
    tags: ['ts', 'typescript', 'tsx', 'mts', 'cts', 'typescriptreact'],
    related: 'javascript',
  },
  {
    name: 'javascript',
    ids: ['javascript', 'javascriptreact'],
    tags: ['js', 'javascript', 'jsx', 'mjs', 'cjs', 'javascriptreact', 'node', 'es6'],
    related: 'typescript',
  },
  { name: 'python', ids: ['python'], tags: ['py', 'python', 'python3', 'py3'] },
  { name: 'ruby', ids: ['ruby'], tags: ['rb', 'ruby'] },
  { name: 'go', ids: ['go'], tags: ['go', 'golang'] },
  { name: 'rust', ids: ['rust'], tags: ['rs', 'rust'] },
  { name: 'java', ids: ['java'], tags: ['java'] },
  { name: 'kotlin', ids: ['kotlin'], tags: ['kt', 'kts', 'kotlin'] },
  { name: 'c', ids: ['c'], tags: ['c', 'h'], related: 'cpp' },
  { name: 'cpp', ids: ['cpp'], tags: ['cpp', 'c++', 'cc', 'cxx', 'hpp', 'hh'], related: 'c' },
  { name: 'csharp', ids: ['csharp'], tags: ['cs', 'csharp', 'c#'] },
  { name: 'php', ids: ['php'], tags: ['php'] },
  { name: 'swift', ids: ['swift'], tags: ['swift'] },
  { name: 'shell', ids: ['shellscript'], tags: ['sh', 'bash', 'shell', 'zsh', 'shellscript'] },
  { name: 'lua', ids: ['lua'], tags: ['lua'] },
  { name: 'sql', ids: ['sql'], tags: ['sql'] },
];

function familyOf(languageId: string): Family | undefined {
  return FAMILIES.find((f) => f.ids.includes(languageId));
}

/** How well a fence tag fits the document: 3 its language, 2 a related one, 1 no tag, 0 another language. */
function tagScore(tag: string, languageId: string): number {
  if (tag === '') return 1;
  const family = familyOf(languageId);
  if (tag === languageId.toLowerCase() || family?.tags.includes(tag)) return 3;
  const related = family?.related ? FAMILIES.find((f) => f.name === family.related) : undefined;
  if (related?.tags.includes(tag)) return 2;
  return 0;
}

/** Languages whose comments start with '#'. */
const HASH_COMMENTS = new Set([
  'python', 'ruby', 'shellscript', 'perl', 'r', 'yaml', 'toml', 'powershell', 'elixir', 'julia', 'makefile',
  'dockerfile', 'coffeescript', 'nim', 'crystal',
]);
/** Languages whose comments start with '--'. */
const DASH_COMMENTS = new Set(['lua', 'sql', 'haskell', 'ada', 'elm']);
/** Languages with `//` line comments and slash-star block comments. */
const SLASH_COMMENTS = new Set([
  'typescript', 'typescriptreact', 'javascript', 'javascriptreact', 'java', 'c', 'cpp', 'csharp', 'go', 'rust',
  'swift', 'kotlin', 'php', 'scala', 'dart', 'objective-c', 'objective-cpp', 'groovy', 'zig', 'jsonc',
]);

interface CommentStyle {
  readonly slash: boolean;
  readonly hash: boolean;
  readonly dash: boolean;
  readonly docstring: boolean;
}

/** The comment syntax of a language; an unknown one gets both `//`/`/* *\/` and `#`. */
function commentStyle(languageId: string): CommentStyle {
  const hash = HASH_COMMENTS.has(languageId);
  const dash = DASH_COMMENTS.has(languageId);
  const slash = SLASH_COMMENTS.has(languageId);
  if (!hash && !dash && !slash) return { slash: true, hash: true, dash: false, docstring: false };
  return { slash, hash, dash, docstring: languageId === 'python' };
}

// ---------------------------------------------------------------------------------------------------------------
// Lines and fences

function toLines(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').split('\n');
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

/** Lines with trailing whitespace and leading/trailing blank lines removed, joined; '' when nothing is left. */
function finish(lines: readonly string[]): string {
  const trimmed = lines.map((l) => l.trimEnd());
  let start = 0;
  let end = trimmed.length;
  while (start < end && trimmed[start] === '') start++;
  while (end > start && trimmed[end - 1] === '') end--;
  return trimmed.slice(start, end).join('\n');
}

/** Removes up to `count` leading spaces or tabs. */
function dedentBy(line: string, count: number): string {
  let i = 0;
  while (i < count && i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return line.slice(i);
}

/** Lines with their common leading whitespace removed (blank lines do not count). */
function dedent(lines: readonly string[]): string[] {
  let common = Infinity;
  for (const line of lines) if (!isBlank(line)) common = Math.min(common, /^[ \t]*/.exec(line)![0].length);
  return common === Infinity || common === 0 ? lines.slice() : lines.map((l) => dedentBy(l, common));
}

interface Fence {
  /** Line index of the opening fence. */
  readonly open: number;
  /** Line index of the closing fence; the number of lines when the answer ends inside the block. */
  readonly close: number;
  /** First word of the info string, lower case ('' when none). */
  readonly tag: string;
  /** The content, the fence's own indentation removed. */
  readonly lines: readonly string[];
}

const FENCE = /^([ \t]*)(`{3,}|~{3,})(.*)$/;

/** The language word of an info string: "typescript", "ts title=a.ts", "typescript:src/a.ts", "{.python}". */
function fenceTag(info: string): string {
  return (info.trim().replace(/^\{?\.?/, '').split(/[\s:{},]/)[0] ?? '').toLowerCase();
}

/**
 * Markdown code blocks, CommonMark-style: ``` or ~~~ (three or more), closed by a line of at least as many of the
 * same character; indented fences (inside list items) are fine and their indentation is removed from the content;
 * a block still open at the end of the answer runs to the end (the model ran out of tokens).
 */
function findFences(lines: readonly string[]): Fence[] {
  const fences: Fence[] = [];
  let i = 0;
  while (i < lines.length) {
    const m = FENCE.exec(lines[i]!);
    if (!m || (m[2]![0] === '`' && m[3]!.includes('`'))) {
      i++;
      continue;
    }
    const indent = m[1]!.length;
    const marker = m[2]!;
    const closer = new RegExp(`^[ \\t]*${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
    let j = i + 1;
    while (j < lines.length && !closer.test(lines[j]!)) j++;
    fences.push({ open: i, close: j, tag: fenceTag(m[3]!), lines: lines.slice(i + 1, j).map((l) => dedentBy(l, indent)) });
    i = j + 1;
  }
  return fences;
}

/** The lines that are not part of any fence (fence lines included). */
function outsideFences(lines: readonly string[], fences: readonly Fence[]): string[] {
  const out: string[] = [];
  let next = 0;
  for (const f of fences) {
    out.push(...lines.slice(next, f.open));
    next = f.close + 1;
  }
  out.push(...lines.slice(next));
  return out;
}

/** A label that announces old code ("Before:", "Original code:", "The problem is here:") and not new code. */
const BEFORE_LABEL = /\b(before|original|old|current|existing|previous|problem|problematic|buggy|broken|wrong|incorrect)\b/i;
const AFTER_LABEL =
  /\b(after|refactor\w*|updat\w*|fix\w*|new\w*|improv\w*|correct\w*|revis\w*|rewrit\w*|modif\w*|final|result\w*|solution|applied|instead|better|clean\w*|simplif\w*|optimi\w*)\b/i;
const COMMENT_LINE = /^\s*(?:\/\/+|\/\*+|#+|--)\s*(.*)$/;

/** The block shows the code as it was: by the prose line just above it, or by a comment on its own first line. */
function showsOldCode(lines: readonly string[], fence: Fence): boolean {
  const labels: string[] = [];
  for (let i = fence.open - 1; i >= 0 && i >= fence.open - 3; i--) {
    const line = lines[i]!;
    if (isBlank(line)) continue;
    if (!FENCE.test(line)) labels.push(line);
    break;
  }
  const first = fence.lines.find((l) => !isBlank(l));
  const comment = first === undefined ? undefined : COMMENT_LINE.exec(first);
  if (comment) labels.push(comment[1]!);
  return labels.some((l) => BEFORE_LABEL.test(l) && !AFTER_LABEL.test(l));
}

interface RankedFence extends Fence {
  readonly score: number;
}

/**
 * Non-empty fences, best first: by tag (the document's language, a related one, none, another), then blocks not
 * labelled as the old code, then the longest (non-whitespace characters), then the first.
 */
function rankFences(lines: readonly string[], fences: readonly Fence[], languageId: string): RankedFence[] {
  const solid = (f: Fence): number => f.lines.join('').replace(/\s+/g, '').length;
  return fences
    .filter((f) => solid(f) > 0)
    .map((f, index) => ({ ...f, score: tagScore(f.tag, languageId), old: showsOldCode(lines, f), size: solid(f), index }))
    .sort((a, b) => b.score - a.score || Number(a.old) - Number(b.old) || b.size - a.size || a.index - b.index);
}

// ---------------------------------------------------------------------------------------------------------------
// Prose

/** Inline code spans and emphasis markers neutralised, so "`a = b`" in a sentence does not read as code. */
function plain(line: string): string {
  return line.replace(/`[^`]*`/g, 'x').replace(/\*\*|__/g, '').trim();
}

/** Punctuation natural language does not use: statement ends, braces, assignment, calls with arguments. */
function hasCodePunctuation(text: string): boolean {
  return /[;{}=]/.test(text) || /\w\((?!\))/.test(text);
}

/**
 * A line that reads as prose, not code: a markdown heading (not in '#'-comment languages), a rule, a bold label,
 * a bullet of words, or a sentence: a capitalised word first, words separated by spaces (or a single "Label:"),
 * ending in '.', ':', '!' or '?', and no code punctuation (;{}= or a call with arguments) outside inline code.
 */
function isProseLine(line: string, hashComments: boolean): boolean {
  const raw = line.trim();
  if (raw === '') return false;
  if (/^(?:-{3,}|\*{3,}|_{3,})$/.test(raw)) return true;
  if (/^\*\*[^*]+\*\*:?$/.test(raw)) return true;
  if (!hashComments && /^#{1,6}\s+\S/.test(raw)) return true;
  const t = plain(raw);
  if (hasCodePunctuation(t)) return false;
  const bullet = /^(?:[-*+•]|\d{1,2}[.)])\s+(.*)$/.exec(t);
  if (bullet) return !bullet[1]!.startsWith('@') && /\p{L}{2,}[\s,]+\S/u.test(bullet[1]!);
  if (!/^\p{Lu}/u.test(t) || !/[.:!?]["')*_]*$/.test(t)) return false;
  return /\s/.test(t) || /^\p{L}+[.:!?]$/u.test(t);
}

/** Some consecutive lines that read as prose: each one does, or joined together they make one sentence or bullet. */
function isProseChunk(lines: readonly string[], hashComments: boolean): boolean {
  if (lines.every((l) => isProseLine(l, hashComments))) return true;
  return lines.length > 1 && isProseLine(lines.map((l) => l.trim()).join(' '), hashComments);
}

/** A line of natural language even if it has a ';' in it: "The code is fine; no change is needed." */
function isSentence(line: string): boolean {
  const t = plain(line);
  return /^\p{Lu}/u.test(t) && /[.!?:]["')*_]*$/.test(t) && (t.match(/\s+/g)?.length ?? 0) >= 2 && !/[{}=]/.test(t);
}

/**
 * A line the parser may judge to be prose: words separated by spaces, not a comment, not a closer or decorator, and
 * not ending the way an unfinished statement does (an opening bracket, a comma, an arrow).
 */
function mayBeProse(line: string, style: CommentStyle): boolean {
  const t = line.trim();
  if (t === '' || startsComment(t, style) || /^[}\])@]/.test(t)) return false;
  if (/(?:[{([,]|=>)$/.test(t)) return false;
  return isProseLine(t, style.hash) || /\p{L}{2,}[ \t]+\p{L}/u.test(plain(t));
}

function startsComment(trimmed: string, style: CommentStyle): boolean {
  if (style.slash && /^(?:\/\/|\/\*|\*\/)/.test(trimmed)) return true;
  if (style.hash && trimmed.startsWith('#')) return true;
  return style.dash && trimmed.startsWith('--');
}

/** At most this many lines are judged as one chunk of prose at an edge. */
const MAX_CHUNK = 12;

type Edge = 'start' | 'end';

/** Line ranges [start, end) of the text; the edges move inward as prose is dropped. */
interface Range {
  start: number;
  end: number;
}

function skipBlank(lines: readonly string[], range: Range): void {
  while (range.start < range.end && isBlank(lines[range.start]!)) range.start++;
  while (range.end > range.start && isBlank(lines[range.end - 1]!)) range.end--;
}

/** The up to MAX_CHUNK consecutive non-blank lines at an edge for which `accept` holds, nearest the edge first. */
function edgeRun(lines: readonly string[], range: Range, edge: Edge, accept: (line: string) => boolean): string[] {
  const run: string[] = [];
  for (let k = 0; k < MAX_CHUNK && k < range.end - range.start; k++) {
    const line = lines[edge === 'start' ? range.start + k : range.end - 1 - k]!;
    if (isBlank(line) || !accept(line)) break;
    run.push(line);
  }
  return run;
}

/** The first `k` lines of a run, in document order. */
function chunk(run: readonly string[], k: number, edge: Edge): string[] {
  const part = run.slice(0, k);
  return edge === 'start' ? part : part.reverse();
}

function drop(range: Range, edge: Edge, k: number): Range {
  return edge === 'start' ? { start: range.start + k, end: range.end } : { start: range.start, end: range.end - k };
}

/** Without a grammar: drops the largest prose chunk at each edge, again and again. */
function dropProseByLines(lines: readonly string[], range: Range, edge: Edge, style: CommentStyle): Range {
  let current = range;
  for (;;) {
    skipBlank(lines, current);
    const run = edgeRun(lines, current, edge, (l) => !startsComment(l.trim(), style));
    let k = run.length;
    while (k > 0 && !isProseChunk(chunk(run, k, edge), style.hash)) k--;
    if (k === 0) return current;
    current = drop(current, edge, k);
  }
}

/**
 * With a grammar: at each edge, a chunk of lines that may be prose is dropped when the rest parses with fewer errors,
 * or with no more errors when the heuristics call the chunk prose too; of the chunks that qualify, the one leaving
 * the fewest errors (the shortest among equals). Repeated until nothing qualifies.
 */
function dropProseByParser(
  lines: readonly string[],
  range: Range,
  edge: Edge,
  style: CommentStyle,
  language: SyntaxLanguage,
): Range {
  const errorsIn = (r: Range): number => countErrorsInText(language, lines.slice(r.start, r.end).join('\n'));
  let current = range;
  skipBlank(lines, current);
  let errors = errorsIn(current);
  for (;;) {
    const run = edgeRun(lines, current, edge, (l) => mayBeProse(l, style));
    let best: { range: Range; errors: number } | undefined;
    for (let k = 1; k <= run.length; k++) {
      const prose = isProseChunk(chunk(run, k, edge), style.hash);
      if (errors === 0 && !prose) continue;
      const next = drop(current, edge, k);
      skipBlank(lines, next);
      const e = errorsIn(next);
      if ((e < errors || (prose && e <= errors)) && (!best || e < best.errors)) best = { range: next, errors: e };
    }
    if (!best) return current;
    current = best.range;
    errors = best.errors;
  }
}

/**
 * Code written without a fence: the answer minus the prose at its start and end. A first line that only names the
 * language (a fence whose backticks went missing) goes too; an answer that is one inline code span is unwrapped.
 * Undefined when nothing but prose remains.
 */
function extractBare(lines: readonly string[], options: ExtractOptions): string | undefined {
  const style = commentStyle(options.languageId);
  const inline = /^`([^`\n]+)`$/.exec(lines.join('\n').trim());
  if (inline) return finish([inline[1]!]);
  const range: Range = { start: 0, end: lines.length };
  skipBlank(lines, range);
  const family = familyOf(options.languageId);
  const first = lines[range.start]?.trim().toLowerCase();
  if (first !== undefined && (first === options.languageId.toLowerCase() || family?.tags.includes(first))) range.start++;

  let result: Range;
  if (options.language) {
    const language = options.language;
    result = dropProseByParser(lines, dropProseByParser(lines, range, 'start', style, language), 'end', style, language);
  } else {
    result = dropProseByLines(lines, dropProseByLines(lines, range, 'start', style), 'end', style);
  }
  const kept = lines.slice(result.start, result.end);
  if (kept.every((l) => isBlank(l) || isSentence(l) || isProseLine(l, style.hash))) return undefined;
  const code = finish(kept);
  return code === '' ? undefined : code;
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
