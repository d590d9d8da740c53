/**
 * Shared by the extractors: an answer's lines, reasoning blocks, and what each language's fences and comments
 * look like.
 */

// ---------------------------------------------------------------------------------------------------------------
// Reasoning blocks

export const THINK_OPEN = /^[ \t]*<(?:think|thinking)>/m;
/** A closing tag that ends its line: where a block opened by the template ends. */
export const THINK_CLOSE = /<\/(?:think|thinking)>[ \t]*(?:\r?\n|$)/;
export const THINK_BLOCK = /^[ \t]*<(?:think|thinking)>[\s\S]*?<\/(?:think|thinking)>/gm;

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

export interface Family {
  readonly name: string;
  /** LSP languageIds of the family. */
  readonly ids: readonly string[];
  /** Fence tags models write for it (lower case). */
  readonly tags: readonly string[];
  /** A family whose code is acceptable when no block of this one is there (JavaScript for TypeScript). */
  readonly related?: string;
}

export const FAMILIES: readonly Family[] = [
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

export function familyOf(languageId: string): Family | undefined {
  return FAMILIES.find((f) => f.ids.includes(languageId));
}

/** How well a fence tag fits the document: 3 its language, 2 a related one, 1 no tag, 0 another language. */
export function tagScore(tag: string, languageId: string): number {
  if (tag === '') return 1;
  const family = familyOf(languageId);
  if (tag === languageId.toLowerCase() || family?.tags.includes(tag)) return 3;
  const related = family?.related ? FAMILIES.find((f) => f.name === family.related) : undefined;
  if (related?.tags.includes(tag)) return 2;
  return 0;
}

/** Languages whose comments start with '#'. */
export const HASH_COMMENTS = new Set([
  'python', 'ruby', 'shellscript', 'perl', 'r', 'yaml', 'toml', 'powershell', 'elixir', 'julia', 'makefile',
  'dockerfile', 'coffeescript', 'nim', 'crystal',
]);
/** Languages whose comments start with '--'. */
export const DASH_COMMENTS = new Set(['lua', 'sql', 'haskell', 'ada', 'elm']);
/** Languages with `//` line comments and slash-star block comments. */
export const SLASH_COMMENTS = new Set([
  'typescript', 'typescriptreact', 'javascript', 'javascriptreact', 'java', 'c', 'cpp', 'csharp', 'go', 'rust',
  'swift', 'kotlin', 'php', 'scala', 'dart', 'objective-c', 'objective-cpp', 'groovy', 'zig', 'jsonc',
]);

export interface CommentStyle {
  readonly slash: boolean;
  readonly hash: boolean;
  readonly dash: boolean;
  readonly docstring: boolean;
}

/** The comment syntax of a language; an unknown one gets both `//`/`/* *\/` and `#`. */
export function commentStyle(languageId: string): CommentStyle {
  const hash = HASH_COMMENTS.has(languageId);
  const dash = DASH_COMMENTS.has(languageId);
  const slash = SLASH_COMMENTS.has(languageId);
  if (!hash && !dash && !slash) return { slash: true, hash: true, dash: false, docstring: false };
  return { slash, hash, dash, docstring: languageId === 'python' };
}


// ---------------------------------------------------------------------------------------------------------------
// Lines and fences

export function toLines(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').split('\n');
}

export function isBlank(line: string): boolean {
  return line.trim() === '';
}

/** Lines with trailing whitespace and leading/trailing blank lines removed, joined; '' when nothing is left. */
export function finish(lines: readonly string[]): string {
  const trimmed = lines.map((l) => l.trimEnd());
  let start = 0;
  let end = trimmed.length;
  while (start < end && trimmed[start] === '') start++;
  while (end > start && trimmed[end - 1] === '') end--;
  return trimmed.slice(start, end).join('\n');
}

/** Removes up to `count` leading spaces or tabs. */
export function dedentBy(line: string, count: number): string {
  let i = 0;
  while (i < count && i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return line.slice(i);
}

/** Lines with their common leading whitespace removed (blank lines do not count). */
export function dedent(lines: readonly string[]): string[] {
  let common = Infinity;
  for (const line of lines) if (!isBlank(line)) common = Math.min(common, /^[ \t]*/.exec(line)![0].length);
  return common === Infinity || common === 0 ? lines.slice() : lines.map((l) => dedentBy(l, common));
}
