import { parse, countErrorsInText, type SyntaxLanguage, type SyntaxNode } from '../documents/syntax.js';
import { familyOf, finish, stripThinking, toLines } from '../engine/actions/answer-text.js';
import { extractMarkdown } from '../engine/actions/extract.js';
import { type Fence, findFences, outsideFences, rankFences, showsOldCode } from '../engine/actions/fences.js';
import { languageNames, promptMessages } from '../engine/actions/prompts.js';

/**
 * One synthetic example: from a chat model's answer to prompts/synth-<task>.md to the pair (the code as written and
 * as it should be, or the code and its explanation), the checks a pair must pass, and the training row. Extraction
 * reuses the code actions' fence handling, so a pair is read the way an action's answer is.
 */

export const SYNTH_TASKS = ['refactor', 'fix', 'optimize', 'explain'] as const;
export type SynthTask = (typeof SYNTH_TASKS)[number];

export interface SynthPair {
  /** The function as written: with the problem (refactor, fix, optimize), or the one explained. */
  readonly before: string;
  /** The improved function; for explain, the explanation in Markdown. */
  readonly after: string;
  /** fix: the model's one-sentence description of the bug ("Bug: …"), when it gave one. */
  readonly bug?: string;
}

/** Why an answer gave no row. */
export type DropReason = 'noCode' | 'syntaxError' | 'unchanged' | 'duplicate' | 'modelError';
export const DROP_REASONS: readonly DropReason[] = ['noCode', 'syntaxError', 'unchanged', 'duplicate', 'modelError'];

/** An explanation with fewer words of prose is not one (the model stopped, repeated the label, or wrote code). */
const MIN_EXPLANATION_WORDS = 5;

/**
 * The pair in an answer, or undefined when it has none. Code blocks are the fences in the language (or untagged, or
 * a related one: JavaScript for TypeScript), as a code action takes them. Before: the block labelled as the old
 * code ("Before:"), else the first; after: the next block after it not labelled old (else the last one before it).
 * Explain: the first block, and the Markdown after it, its "Explanation:" label removed.
 */
export function extractPair(answer: string, task: SynthTask, languageId: string): SynthPair | undefined {
  const lines = toLines(stripThinking(answer));
  const fences = findFences(lines);
  const code = rankFences(lines, fences, languageId)
    .filter((f) => f.score > 0)
    .sort((a, b) => a.open - b.open);
  if (task === 'explain') {
    const first = code[0];
    if (!first) return undefined;
    const rest = lines.slice(first.close + 1).join('\n').trim().replace(/^[#*_ \t]*explanation[*_ \t]*(?::[*_]*[ \t]*\n?|\n)/i, '');
    const explanation = extractMarkdown(rest);
    // Prose, not another block of code: its words outside fences count.
    const explanationLines = toLines(explanation);
    const prose = outsideFences(explanationLines, findFences(explanationLines)).join(' ');
    if (prose.split(/\s+/).filter((w) => /\w/.test(w)).length < MIN_EXPLANATION_WORDS) return undefined;
    return { before: finish(first.lines), after: explanation };
  }
  const labelledOld = code.find((f) => showsOldCode(lines, f));
  const before: Fence | undefined = labelledOld ?? code[0];
  if (!before) return undefined;
  const others = code.filter((f) => f !== before && !showsOldCode(lines, f));
  const after = others.find((f) => f.open > before.open) ?? others[others.length - 1];
  if (!after) return undefined;
  const bug = /^[\s*_-]*bug[*_]*\s*:[*_]*\s*(.+)$/im.exec(outsideFences(lines, fences).join('\n'))?.[1]?.trim();
  return { before: finish(before.lines), after: finish(after.lines), ...(bug ? { bug } : {}) };
}

/**
 * The pair's tokens, for "differs" and for duplicates: the grammar's leaves (comments included) when the language
 * has one, else words and punctuation marks. Whitespace and layout never count.
 */
export function codeTokens(code: string, syntax: SyntaxLanguage | undefined): string[] {
  const tree = syntax && parse(syntax, code);
  if (!tree) return code.match(/[\p{L}\p{N}_$]+|[^\s\p{L}\p{N}_$]/gu) ?? [];
  const tokens: string[] = [];
  const visit = (node: SyntaxNode): void => {
    if (node.childCount === 0) {
      if (node.text !== '') tokens.push(node.text);
      return;
    }
    for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  return tokens;
}

/**
 * Why the pair is not kept, or undefined when it is: both sides parse without errors (where the language has a
 * grammar; explain: the code only) and, but for explain, they differ in tokens.
 */
export function checkPair(pair: SynthPair, task: SynthTask, syntax: SyntaxLanguage | undefined): Exclude<DropReason, 'duplicate' | 'modelError'> | undefined {
  const sides = task === 'explain' ? [pair.before] : [pair.before, pair.after];
  // countErrorsInText is undefined when the parse ran past its budget: not known to parse, so not kept.
  if (syntax && sides.some((code) => countErrorsInText(syntax, code) !== 0)) return 'syntaxError';
  if (task !== 'explain' && sameTokens(codeTokens(pair.before, syntax), codeTokens(pair.after, syntax))) return 'unchanged';
  return undefined;
}

function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/** What makes two pairs the same example: the before code's tokens (one prompt, one row). */
export function pairKey(pair: SynthPair, syntax: SyntaxLanguage | undefined): string {
  return JSON.stringify(codeTokens(pair.before, syntax));
}

/**
 * The prompt a code action would send for the before code: prompts/<task>.md filled in as the editor's action fills
 * it for a whole function with no surrounding code, rendered as one string: the system text, a blank line, the
 * user text. fix's diagnostics: the model's "Bug:" sentence as one list item.
 */
export function actionPrompt(task: SynthTask, pair: SynthPair, languageId: string): string {
  const { name, fence } = languageNames(languageId);
  const extension = familyOf(languageId)?.tags[0] ?? (fence || 'txt');
  const [system, user] = promptMessages(task, {
    language: name,
    fence,
    file: `example.${extension}`,
    target: targetDescription(pair.before),
    code: pair.before,
    context: '',
    diagnostics: `- ${pair.bug ?? 'the code does not do what its name and comments say'}`,
  });
  return `${system!.content}\n\n${user!.content}`;
}

/** "function NAME" as the editor's targets say it, from the first declaration in the code; else "function". */
function targetDescription(code: string): string {
  const declared = /\b(?:function\*?|def|fn|func)\s+([\p{L}_$][\p{L}\p{N}_$]*)/u.exec(code) ?? /\b(?:const|let|var)\s+([\p{L}_$][\p{L}\p{N}_$]*)\s*=\s*(?:async\s*)?(?:\(|function\b)/u.exec(code);
  return declared ? `function ${declared[1]}` : 'function';
}

/** Code in a fenced block of the language, as a code action's answer holds it. */
export function fenced(code: string, languageId: string): string {
  return `\`\`\`${languageNames(languageId).fence}\n${code}\n\`\`\``;
}

export interface SftRow {
  readonly prompt: string;
  readonly completion: string;
}
export interface DpoRow {
  readonly prompt: string;
  readonly chosen: string;
  readonly rejected: string;
}

/**
 * The training row (the columns of `xencode feedback export` and `xencode train --data`): sft's completion is the
 * after code fenced (explain: the Markdown as it is); dpo's chosen is that, its rejected the before code fenced.
 */
export function pairRow(pair: SynthPair, task: SynthTask, languageId: string, format: 'sft' | 'dpo'): SftRow | DpoRow {
  const prompt = actionPrompt(task, pair, languageId);
  const completion = task === 'explain' ? pair.after : fenced(pair.after, languageId);
  return format === 'sft' ? { prompt, completion } : { prompt, chosen: completion, rejected: fenced(pair.before, languageId) };
}
