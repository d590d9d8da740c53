import type { CompletionContext } from '../context/types.js';
import { astHash, TEMPLATE_VERSION } from '../context/ast-hash.js';
import { TypedAheadTracker, type CachedAnswerRef } from '../context/typed-ahead.js';
import type { OpenDocument } from '../documents/document-store.js';
import type { AnswerCache, CachedAnswer } from '../store/answer-cache.js';

/** A remembered answer with what its provenance needs when it is served again. */
export interface ReusableAnswer extends CachedAnswerRef {
  readonly answer: CachedAnswer;
}

export type Reuse =
  | { readonly kind: 'typed-ahead'; readonly text: string; readonly answer: CachedAnswer }
  | { readonly kind: 'hit'; readonly tier: 'memory' | 'disk'; readonly key: string; readonly answer: CachedAnswer }
  | { readonly kind: 'miss'; readonly key: string };

/**
 * Answers without a model call: typing along a shown answer (the rest of it), then the AST-hash cache (memory,
 * then LMDB). Identical concurrent misses share one ensemble run (see InFlight).
 */
export class AnswerReuse {
  private readonly typedAhead = new TypedAheadTracker<ReusableAnswer>();
  private fingerprint = '';

  constructor(private cache: AnswerCache) {}

  /** The settings that change an answer changed: cached answers stay (their keys differ), shown ones are forgotten. */
  setFingerprint(fingerprint: string): void {
    const next = `${fingerprint}|template ${TEMPLATE_VERSION}`;
    if (next !== this.fingerprint) this.typedAhead.clear();
    this.fingerprint = next;
  }

  replaceCache(cache: AnswerCache): void {
    this.cache = cache;
  }

  get answerCache(): AnswerCache {
    return this.cache;
  }

  lookup(doc: OpenDocument, context: CompletionContext): Reuse {
    const started = performance.now();
    const typed = this.typedAhead.match(doc, context);
    // Nothing typed yet (the same position again) is the cache's to answer.
    const key = astHash(doc, context, this.fingerprint);
    if (typed && typed.typed > 0) {
      // Kept under this position's key too, so that coming back to it later (or after a restart) hits.
      const answer = { ...typed.ref.answer, text: typed.rest };
      this.cache.set(key, answer);
      this.cache.recordTypedAhead((performance.now() - started) * 1000);
      return { kind: 'typed-ahead', text: typed.rest, answer };
    }
    const hit = this.cache.get(key);
    if (hit) return { kind: 'hit', tier: hit.tier, key, answer: hit.answer };
    return { kind: 'miss', key };
  }

  /** Stores a fresh answer under its key. */
  store(key: string, answer: CachedAnswer): void {
    this.cache.set(key, answer);
  }

  /** Remembers what the user is shown now, so that typing along it is answered from it. */
  shown(context: CompletionContext, text: string, answer: CachedAnswer): void {
    this.typedAhead.rememberShown(context, { text, answer });
  }

  forget(uri: string): void {
    this.typedAhead.forget(uri);
  }

  async clear(): Promise<void> {
    this.typedAhead.clear();
    await this.cache.clear();
  }
}

/**
 * Identical concurrent requests (same key) share one run. The run is aborted only when every request waiting for
 * it has gone.
 */
export class InFlight<T> {
  private readonly runs = new Map<string, { promise: Promise<T>; controller: AbortController; waiters: number }>();
  shared = 0;

  run(key: string, signal: AbortSignal, start: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let entry = this.runs.get(key);
    if (entry) this.shared++;
    else {
      const controller = new AbortController();
      const promise = start(controller.signal).finally(() => {
        if (this.runs.get(key) === created) this.runs.delete(key);
      });
      const created = { promise, controller, waiters: 0 };
      entry = created;
      this.runs.set(key, entry);
    }
    const current = entry;
    current.waiters++;
    return new Promise<T>((resolve, reject) => {
      const leave = () => {
        signal.removeEventListener('abort', onAbort);
        current.waiters--;
      };
      const onAbort = () => {
        leave();
        if (current.waiters === 0) {
          current.controller.abort(signal.reason);
          if (this.runs.get(key) === current) this.runs.delete(key);
        }
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      current.promise.then(
        (value) => {
          leave();
          resolve(value);
        },
        (err: unknown) => {
          leave();
          reject(err);
        },
      );
    });
  }
}
