import { createHash } from 'node:crypto';
import { hoverFingerprint, type Settings } from '../config.js';
import { findHoverTarget, type HoverTarget } from '../context/action-target.js';
import { keyMaterial } from '../context/ast-hash.js';
import type { CompletionContext } from '../context/types.js';
import type { OpenDocument } from '../documents/document-store.js';
import type { BackendError, CompletionBackend } from '../models/backend.js';
import type { AnswerCache, CachedAnswer } from '../store/answer-cache.js';
import { askModels, type ChatMember, type LongOutcome } from './actions/ask-models.js';
import { extractMarkdown } from './actions/extract.js';
import { contextBlock, fileName, languageNames, promptMessages, PROMPT_VERSION } from './actions/prompts.js';

/**
 * Hovers: a short markdown explanation of the symbol under the cursor (in its declaration) or of the
 * declaration itself, from the action models. Cached by the AST hash of the declaration (plus the symbol), so
 * formatting edits keep it and any token change asks again. A hover waits at most `hover.deadlineMs`; an answer
 * still coming then is not thrown away: it finishes in the background (bounded by actions.timeoutMs) and lands
 * in the cache for the next hover there. A client's cancel aborts the run when no other hover waits on it.
 */

export interface HoverAnswer {
  readonly markdown: string;
  /** The symbol's range (offsets), when the hover is about a symbol. */
  readonly range?: { readonly start: number; readonly end: number };
  readonly model: string;
  readonly cached: boolean;
}

export type HoverOutcome =
  | { readonly kind: 'answer'; readonly answer: HoverAnswer }
  /** Nothing to explain here, hovers are off, or no model is configured. */
  | { readonly kind: 'none' }
  /** The models did not answer by the deadline (the run goes on, for the next hover). */
  | { readonly kind: 'late' }
  /** The models answered nothing usable, or failed. */
  | { readonly kind: 'empty' }
  | { readonly kind: 'aborted' };

export interface HoverEnvironment {
  readonly settings: Settings;
  readonly members: readonly ChatMember[];
  readonly cache: AnswerCache;
  readonly onFailure?: (error: BackendError) => void;
  readonly onSuccess?: (backend: CompletionBackend) => void;
  readonly onOutcomes?: (outcomes: readonly LongOutcome[], winners: readonly string[]) => void;
}

/** Largest declaration sent whole; a symbol in a larger one is explained from the lines around it. */
const MAX_SCOPE_CHARS = 8000;

interface Run {
  readonly done: Promise<CachedAnswer | null>;
  readonly controller: AbortController;
  waiters: number;
}

export class HoverService {
  private readonly running = new Map<string, Run>();

  async hover(doc: OpenDocument, offset: number, signal: AbortSignal, env: HoverEnvironment): Promise<HoverOutcome> {
    const { settings } = env;
    if (!settings.hover.enabled || env.members.length === 0 || doc.binary) return { kind: 'none' };
    const target = findHoverTarget(doc, offset, { maxChars: MAX_SCOPE_CHARS });
    if (!target) return { kind: 'none' };
    const key = hoverKey(doc, target, hoverFingerprint(settings));
    const range = target.symbol ? { start: target.symbol.start, end: target.symbol.end } : undefined;
    const answer = (cached: CachedAnswer, fromCache: boolean): HoverOutcome => ({
      kind: 'answer',
      answer: { markdown: cached.text, model: cached.model, cached: fromCache, ...(range ? { range } : {}) },
    });

    const hit = env.cache.get(key, { record: false });
    if (hit) return answer(hit.answer, true);

    const run = this.running.get(key) ?? this.start(key, doc, target, env);
    run.waiters++;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const outcome = await Promise.race([
        run.done.then((found): HoverOutcome => (found ? answer(found, false) : { kind: 'empty' })),
        new Promise<HoverOutcome>((resolve) => (timer = setTimeout(() => resolve({ kind: 'late' }), settings.hover.deadlineMs))),
        new Promise<HoverOutcome>((resolve) => {
          onAbort = () => resolve({ kind: 'aborted' });
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      return outcome;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
      run.waiters--;
      // The user moved on: stop the models unless another hover is waiting for the same answer.
      if (signal.aborted && run.waiters === 0) run.controller.abort(new Error('hover cancelled'));
    }
  }

  /** Aborts every run (shutdown). */
  close(): void {
    for (const run of this.running.values()) run.controller.abort(new Error('shutting down'));
  }

  private start(key: string, doc: OpenDocument, target: HoverTarget, env: HoverEnvironment): Run {
    const controller = new AbortController();
    const names = languageNames(doc.languageId);
    const text = doc.textDocument.getText();
    const scope = target.scope;
    const before = text.slice(Math.max(0, scope.start - 600), scope.start);
    const messages = promptMessages('hover', {
      language: names.name,
      fence: names.fence,
      file: fileName(doc.uri),
      target: scope.description,
      code: scope.text,
      symbol: target.symbol ? `Explain \`${target.symbol.name}\` as it is used here. ` : 'Explain it. ',
      context: contextBlock({ header: '', before: before.slice(before.indexOf('\n') + 1), after: '', fence: names.fence }),
    });
    const done = askModels(env.members, {
      messages,
      maxTokens: env.settings.hover.maxTokens,
      timeoutMs: env.settings.actions.timeoutMs,
      signal: controller.signal,
      parse: (raw) => {
        const markdown = extractMarkdown(raw);
        return markdown ? { ok: true, value: markdown, text: markdown } : { ok: false, reason: 'the answer was empty' };
      },
      onFailure: env.onFailure,
      onSuccess: env.onSuccess,
    })
      .then((result) => {
        if (controller.signal.aborted) return null;
        env.onOutcomes?.(result.outcomes, result.pick ? result.pick.agreeing.length > 0 ? result.pick.agreeing : [result.pick.answer.model] : []);
        if (!result.pick) return null;
        const { answer } = result.pick;
        const agreement = result.answers.length > 1 ? `, ${result.pick.agreeing.length} of ${result.answers.length} agree` : '';
        const cached: CachedAnswer = {
          text: `${answer.value}\n\n*xencode · ${answer.model}${agreement}*`,
          model: answer.model,
          method: 'weighted',
          rule: result.pick.rule,
          agreeing: [...result.pick.agreeing],
          createdAt: Date.now(),
        };
        env.cache.set(key, cached);
        return cached;
      })
      .finally(() => this.running.delete(key));
    const run: Run = { done, controller, waiters: 0 };
    this.running.set(key, run);
    return run;
  }
}

/**
 * The cache key of a hover: the tokens of the scope it explains (layout ignored, as for completions), the symbol,
 * the models and the prompt version.
 */
export function hoverKey(doc: OpenDocument, target: HoverTarget, fingerprint: string): string {
  const { scope } = target;
  const context: CompletionContext = {
    uri: doc.uri,
    languageId: doc.languageId,
    language: doc.syntax?.entry.name,
    version: doc.version,
    cursorOffset: scope.start,
    prefix: '',
    suffix: '',
    header: '',
    windowStart: scope.start,
    windowEnd: scope.end,
    linePrefix: '',
    lineSuffix: '',
    indent: '',
    wordPrefix: '',
  };
  const material = keyMaterial(doc, context, `hover/${PROMPT_VERSION}|${fingerprint}|${target.symbol?.name ?? ''}`);
  return `hover:${createHash('sha1').update(material).digest('hex')}`;
}
