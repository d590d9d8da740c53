import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Settings } from '../../config.js';
import { findActionTarget, type ActionTarget } from '../../context/action-target.js';
import { lineStartOf } from '../../text/lines.js';
import { buildCompletionContext } from '../../context/context-builder.js';
import type { OpenDocument } from '../../documents/document-store.js';
import { countErrorsInText, countSyntaxErrors, type SyntaxLanguage } from '../../documents/syntax.js';
import type { BackendError, ChatMessage, CompletionBackend } from '../../models/backend.js';
import { askModels, type AskResult, type ChatMember, type LongOutcome, type Parsed } from './ask-models.js';
import { extractCode, extractDocComment, extractMarkdown } from './extract.js';
import { contextBlock, fileName, languageNames, promptMessages } from './prompts.js';
import { detectIndentUnit, reindent, withLineEndings } from './reindent.js';

/**
 * A code action, from the target to the edit: the prompt (prompts/<action>.md), the models asked in parallel,
 * each answer's code extracted, re-indented to the target and checked (the edited file must not parse with more
 * errors than before), and the best valid answer picked by weighted similarity (ask-models.ts).
 */

export const ACTION_IDS = ['refactor', 'fix', 'optimize', 'document', 'explain', 'tests'] as const;
export type ActionId = (typeof ACTION_IDS)[number];

export function isActionId(value: unknown): value is ActionId {
  return typeof value === 'string' && (ACTION_IDS as readonly string[]).includes(value);
}

/** A diagnostic the editor sent with the request (offsets in the document). */
export interface ActionDiagnostic {
  readonly start: number;
  readonly end: number;
  readonly message: string;
  readonly source?: string;
  readonly code?: string | number;
}

export interface ActionRequest {
  readonly action: ActionId;
  /** Offsets; equal for a bare cursor. */
  readonly selection: { readonly start: number; readonly end: number };
  readonly diagnostics: readonly ActionDiagnostic[];
}

/** Where an action's answer came from (logged, counted in xencode.stats, shown with explanations). */
export interface ActionProvenance {
  readonly method: 'weighted';
  readonly rule: string;
  readonly asked: readonly string[];
  readonly answered: readonly string[];
  readonly agreeing: readonly string[];
  readonly model: string;
  readonly latencyMs: number;
}

export interface TextChange {
  readonly start: number;
  readonly end: number;
  readonly newText: string;
}

export type ActionResult =
  /** Replace/insert text in the document, computed against `version`. */
  | { readonly kind: 'edit'; readonly uri: string; readonly version: number; readonly changes: readonly TextChange[]; readonly summary: string; readonly provenance: ActionProvenance }
  /** Append `text` to the test file `uri` (`existingText` is what it holds now; absent: create it). */
  | { readonly kind: 'test-file'; readonly uri: string; readonly existingText?: string; readonly text: string; readonly summary: string; readonly provenance: ActionProvenance }
  | { readonly kind: 'markdown'; readonly title: string; readonly markdown: string; readonly provenance: ActionProvenance }
  /** Nothing to apply: `message` says why and what to do; 'info' when it is not a failure (no change needed). */
  | { readonly kind: 'failed'; readonly message: string; readonly severity: 'warning' | 'info' }
  | { readonly kind: 'aborted' };

export interface ActionEnvironment {
  readonly members: readonly ChatMember[];
  readonly settings: Settings;
  readonly signal: AbortSignal;
  readonly onProgress?: (message: string, percentage?: number) => void;
  readonly onFailure?: (error: BackendError) => void;
  readonly onSuccess?: (backend: CompletionBackend) => void;
  /** The current text of a file by URI (an open document's, else the disk's); undefined when it does not exist. */
  readonly readText?: (uri: string) => string | undefined;
  /** Every model's outcome and the pick, for statistics. */
  readonly onOutcomes?: (outcomes: readonly LongOutcome[], winners: readonly string[]) => void;
}

/** The action's name, as menus show it. */
export const ACTION_NAMES: Record<ActionId, string> = {
  refactor: 'Refactor',
  fix: 'Fix',
  optimize: 'Optimize',
  document: 'Add documentation',
  explain: 'Explain',
  tests: 'Write tests',
};

/** The action's title for a target: "Refactor function sum", "Add documentation to method add". */
export function actionTitle(action: ActionId, target: ActionTarget): string {
  const preposition = action === 'document' ? ' to' : action === 'tests' ? ' for' : '';
  return `${ACTION_NAMES[action]}${preposition} ${target.description}`;
}

/** Characters of target a model is sent at most: actions that return the whole target must fit it in maxTokens. */
export function maxTargetChars(action: ActionId, settings: Settings): number {
  const rewrites = action === 'refactor' || action === 'fix' || action === 'optimize';
  // ~3 characters per token of code; the answer restates the target, so it has to fit the answer budget.
  return rewrites ? settings.actions.maxTokens * 3 : Math.max(settings.actions.maxTokens * 3, 24_000);
}

export async function runAction(doc: OpenDocument, request: ActionRequest, env: ActionEnvironment): Promise<ActionResult> {
  const started = performance.now();
  const { action } = request;
  const found = findActionTarget(doc, request.selection, { maxChars: maxTargetChars(action, env.settings) });
  if (!found.target) return { kind: 'failed', message: `Cannot ${ACTION_NAMES[action].toLowerCase()} here: ${found.reason}.`, severity: 'info' };
  const target = found.target;
  if (action === 'fix' && request.diagnostics.length === 0)
    return { kind: 'failed', message: 'Fix needs the problems to fix: run it on a line the editor marks with a diagnostic.', severity: 'info' };
  const members = env.members;
  if (members.length === 0) return { kind: 'failed', message: 'No model is configured for code actions (xencode.models or xencode.actions.models).', severity: 'warning' };

  const text = doc.textDocument.getText();
  const eol: '\n' | '\r\n' = text.includes('\r\n') ? '\r\n' : '\n';
  const unit = detectIndentUnit(text);
  const testUri = action === 'tests' ? testFileFor(doc.uri, doc.languageId) : undefined;
  const messages = actionMessages(doc, action, target, env.settings, diagnosticLines(doc, target, request.diagnostics));

  const errorsBefore = doc.tree ? countSyntaxErrors(doc.tree.rootNode) : 0;
  /** "Parses no worse": the document with `change` applied has no more syntax errors than now. */
  const parsesNoWorse = (change: TextChange): Parsed<TextChange> => {
    if (!doc.syntax) return { ok: true, value: change, text: change.newText };
    const after = text.slice(0, change.start) + change.newText + text.slice(change.end);
    const errorsAfter = countErrorsInText(doc.syntax, after);
    if (errorsAfter === undefined) return { ok: false, reason: UNCHECKABLE };
    const added = errorsAfter - errorsBefore;
    return added > 0 ? { ok: false, reason: `it would add ${added} syntax error${added === 1 ? '' : 's'}` } : { ok: true, value: change, text: change.newText };
  };

  let parse: (raw: string) => Parsed<TextChange | string>;
  if (action === 'explain') {
    parse = (raw) => {
      const markdown = extractMarkdown(raw);
      return markdown ? { ok: true, value: markdown, text: markdown } : { ok: false, reason: 'the answer was empty' };
    };
  } else if (action === 'document') {
    parse = (raw) => {
      const comment = extractDocComment(raw, { languageId: doc.languageId });
      if (!comment) return { ok: false, reason: 'the answer held no documentation comment' };
      return parsesNoWorse(docCommentChange(text, target, comment, unit, eol));
    };
  } else if (action === 'tests') {
    const existing = testUri ? env.readText?.(testUri) : undefined;
    parse = (raw) => {
      const code = extractCode(raw, { language: doc.syntax, languageId: doc.languageId });
      if (!code) return { ok: false, reason: 'the answer held no code' };
      const addition = withLineEndings(code.code, eol);
      const problem = testCodeProblem(doc.syntax, existing ?? '', addition, eol);
      return problem ? { ok: false, reason: problem } : { ok: true, value: addition, text: addition };
    };
  } else {
    parse = (raw) => {
      const code = extractCode(raw, { language: doc.syntax, languageId: doc.languageId });
      if (!code) return { ok: false, reason: 'the answer held no code' };
      const newText = withLineEndings(reindent(code.code, { baseIndent: target.indent, unit, indentFirstLine: false }), eol);
      return parsesNoWorse({ start: target.start, end: target.end, newText });
    };
  }

  const asked = members.map((m) => m.backend.model);
  env.onProgress?.(`asking ${asked.join(', ')}`, 0);
  const result: AskResult<TextChange | string> = await askModels(members, {
    messages,
    maxTokens: env.settings.actions.maxTokens,
    timeoutMs: env.settings.actions.timeoutMs,
    signal: env.signal,
    parse,
    onSettled: (done, total, outcome) =>
      env.onProgress?.(`${done} of ${total} model${total === 1 ? '' : 's'} answered (${outcome.model}: ${outcomeWord(outcome)})`, Math.round((done / total) * 100)),
    onFailure: env.onFailure,
    onSuccess: env.onSuccess,
  });
  if (env.signal.aborted) return { kind: 'aborted' };
  env.onOutcomes?.(result.outcomes, result.pick ? result.pick.agreeing.length > 0 ? result.pick.agreeing : [result.pick.answer.model] : []);
  if (!result.pick) return { kind: 'failed', message: noAnswerMessage(action, target, result, env.settings), severity: 'warning' };

  const { answer } = result.pick;
  const provenance: ActionProvenance = {
    method: 'weighted',
    rule: result.pick.rule,
    asked,
    answered: result.answers.map((a) => a.model),
    agreeing: result.pick.agreeing,
    model: answer.model,
    latencyMs: performance.now() - started,
  };
  const agreement = provenance.answered.length > 1 ? `, ${provenance.agreeing.length} of ${provenance.answered.length} agree` : '';
  const summary = `${actionTitle(action, target)} (${answer.model}${agreement})`;
  if (action === 'explain') {
    const title = `Explanation of ${target.description} in ${fileName(doc.uri)}`;
    const footer = `\n\n---\n*Xencode · ${answer.model}${agreement} · ${(provenance.latencyMs / 1000).toFixed(1)} s*\n`;
    return { kind: 'markdown', title, markdown: `# ${title}\n\n${answer.value as string}${footer}`, provenance };
  }
  if (action === 'tests') {
    const existing = env.readText?.(testUri!);
    return { kind: 'test-file', uri: testUri!, ...(existing !== undefined ? { existingText: existing } : {}), text: answer.value as string, summary, provenance };
  }
  const change = answer.value as TextChange;
  if (text.slice(change.start, change.end) === change.newText)
    return { kind: 'failed', message: `The models suggest no change to ${target.description}.`, severity: 'info' };
  return { kind: 'edit', uri: doc.uri, version: doc.version, changes: [change], summary, provenance };
}

/**
 * The chat messages `action` sends for `target` in `doc`: prompts/<action>.md filled in. `diagnostics` is the
 * problem list a fix names (one `- …` line each). Mined datasets (training/dataset-mine.ts) use it too, so a model
 * is trained on exactly the prompts it is later asked.
 */
export function actionMessages(doc: OpenDocument, action: ActionId, target: ActionTarget, settings: Settings, diagnostics: string): ChatMessage[] {
  const names = languageNames(doc.languageId);
  const testUri = action === 'tests' ? testFileFor(doc.uri, doc.languageId) : undefined;
  return promptMessages(action, {
    language: names.name,
    fence: names.fence,
    file: fileName(doc.uri),
    target: target.description,
    code: atColumnZero(target.text, target.indent),
    context: surroundingContext(doc, target, settings.actions.contextChars, names.fence),
    diagnostics,
    testFile: testUri ? fileName(testUri) : '',
  });
}

/** The target as if it stood at column 0 (its first line starts after the indentation; the rest still have it). */
export function atColumnZero(code: string, indent: string): string {
  if (!indent) return code;
  return code
    .split('\n')
    .map((line, i) => (i > 0 && line.startsWith(indent) ? line.slice(indent.length) : line))
    .join('\n');
}

function outcomeWord(outcome: LongOutcome): string {
  switch (outcome.kind) {
    case 'answered':
      return 'ok';
    case 'unusable':
      return outcome.reason;
    case 'failed':
      return 'failed';
    default:
      return outcome.kind;
  }
}

/** Why no answer can be used, and what the user can do. */
function noAnswerMessage(action: ActionId, target: ActionTarget, result: AskResult<unknown>, settings: Settings): string {
  const what = actionTitle(action, target);
  const unusable = result.outcomes.filter((o): o is Extract<LongOutcome, { kind: 'unusable' }> => o.kind === 'unusable');
  const failed = result.outcomes.filter((o): o is Extract<LongOutcome, { kind: 'failed' }> => o.kind === 'failed');
  if (unusable.length > 0) {
    const reasons = unusable.map((o) => `${o.model}: ${o.reason}`).join('; ');
    const broken = unusable.some((o) => o.reason.includes('syntax error'));
    return `${what}: nothing was changed, because no answer could be used (${reasons}).${broken ? ' Applying it would have broken the code.' : ''} Try again, select a smaller part, or use a stronger model in xencode.actions.models.`;
  }
  if (result.timedOut)
    return `${what}: the models did not answer within ${Math.round(settings.actions.timeoutMs / 1000)} s (xencode.actions.timeoutMs); nothing was changed.`;
  if (failed.length > 0) return `${what}: no model answered. ${failed[0]!.error.message}`;
  return `${what}: no model answered; nothing was changed.`;
}

/** The imports and enclosing headers, and the code just before and after the target, for the prompt. */
function surroundingContext(doc: OpenDocument, target: ActionTarget, contextChars: number, fence: string): string {
  if (contextChars <= 0) return '';
  const text = doc.textDocument.getText();
  const context = buildCompletionContext(doc, target.start, { contextChars });
  // The window before the target, without the target's own line start (the code block restates it).
  const before = context.prefix.slice(0, context.prefix.length - (target.start - lineStartOf(text, target.start)));
  let afterEnd = Math.min(text.length, target.end + Math.floor(contextChars / 4));
  if (afterEnd < text.length) afterEnd = Math.max(target.end, lineStartOf(text, afterEnd));
  const after = text.slice(target.end, afterEnd);
  return contextBlock({ header: context.header, before, after, fence });
}

/** One line per diagnostic inside the target (all of them when none is inside): `line 4: message (source code)`. */
function diagnosticLines(doc: OpenDocument, target: ActionTarget, diagnostics: readonly ActionDiagnostic[]): string {
  const inside = diagnostics.filter((d) => d.end >= target.start && d.start <= target.end);
  return (inside.length > 0 ? inside : diagnostics)
    .map((d) => {
      const line = doc.textDocument.positionAt(d.start).line + 1;
      const origin = [d.source, d.code].filter((x) => x !== undefined && x !== '').join(' ');
      const excerpt = doc.textDocument.getText().slice(d.start, Math.min(d.end, d.start + 80));
      return `- line ${line}${excerpt.trim() ? ` (at \`${excerpt.split(/\r?\n/)[0]}\`)` : ''}: ${d.message}${origin ? ` (${origin})` : ''}`;
    })
    .join('\n');
}

/**
 * The change that puts `comment` above the target (replacing the doc comment already there), or — for a Python
 * docstring — as the first line of its body.
 */
function docCommentChange(text: string, target: ActionTarget, comment: string, unit: string, eol: '\n' | '\r\n'): TextChange {
  const docstring = /^(?:[rRuU]?)("""|''')/.test(comment.trimStart());
  if (docstring) {
    // After the header line (`def f(x):`), one level deeper than the target.
    const colon = /:[ \t]*(#[^\n]*)?\r?\n/.exec(target.text);
    if (colon) {
      const at = target.start + colon.index + colon[0].length;
      const body = reindent(comment, { baseIndent: target.indent + unit, unit, indentFirstLine: true });
      return { start: at, end: at, newText: withLineEndings(body, eol) + eol };
    }
  }
  const block = reindent(comment, { baseIndent: target.indent, unit, indentFirstLine: true });
  return { start: target.docAnchor.start, end: target.docAnchor.end, newText: withLineEndings(block, eol) + eol };
}

/** Why an edit is refused when the parser gave up on the edited text (see `parse`: every parse is bounded). */
const UNCHECKABLE = 'the syntax check gave up on the edited file (the parser ran out of time), so it cannot be shown to parse';

/** Whether appending `addition` to a test file that holds `existing` parses no worse than `existing` alone. */
function testCodeProblem(language: SyntaxLanguage | undefined, existing: string, addition: string, eol: '\n' | '\r\n'): string | undefined {
  if (!language) return undefined;
  const joined = existing === '' ? addition : `${existing.replace(/\s*$/, '')}${eol}${eol}${addition}`;
  const after = countErrorsInText(language, joined);
  const before = existing ? countErrorsInText(language, existing) : 0;
  if (after === undefined || before === undefined) return UNCHECKABLE;
  const added = after - before;
  return added > 0 ? `the tests would have ${added} syntax error${added === 1 ? '' : 's'}` : undefined;
}

/** Where tests for a file go, by the language's convention; a test file's own tests go into itself. */
export function testFileFor(uri: string, languageId: string): string {
  let path: string;
  try {
    path = fileURLToPath(uri);
  } catch {
    return uri; // not a file: the tests are appended to the document itself
  }
  const ext = extname(path);
  const stem = basename(path, ext);
  const dir = dirname(path);
  if (/[._-](test|spec)$/.test(stem) || /^test_/.test(stem) || (languageId === 'rust' || ext === '.rs')) return uri;
  let name: string;
  if (languageId === 'python' || ext === '.py') name = `test_${stem}${ext}`;
  else if (languageId === 'go' || ext === '.go') name = `${stem}_test${ext}`;
  else if (languageId === 'ruby' || ext === '.rb') name = `${stem}_spec${ext}`;
  else name = `${stem}.test${ext}`;
  return pathToFileURL(join(dir, name)).href;
}
