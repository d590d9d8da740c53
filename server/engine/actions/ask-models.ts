import { BackendError, type ChatMessage, type CompletionBackend } from '../../models/backend.js';
import { weighted } from '../fusion/weighted.js';
import type { ModelSlots } from '../model-slots.js';

/**
 * The ensemble for long answers (code actions, hovers): every model is asked the same chat prompt in parallel
 * (each within its own concurrency), each answer is parsed and validated on its own, and the valid ones are
 * fused on whole answers by WEIGHTED (Σ weight × edit similarity: the weighted medoid), so one model's broken or
 * odd answer neither sinks the action nor wins it.
 */

export interface ChatMember {
  readonly backend: CompletionBackend;
  readonly weight: number;
  readonly slots: ModelSlots;
}

/** What a parser makes of one raw answer: a value and the text to compare it by, or why it is unusable. */
export type Parsed<T> = { readonly ok: true; readonly value: T; readonly text: string } | { readonly ok: false; readonly reason: string };

export interface LongAnswer<T> {
  readonly model: string;
  readonly weight: number;
  readonly value: T;
  readonly text: string;
  readonly latencyMs: number;
}

export type LongOutcome =
  | { readonly model: string; readonly kind: 'answered'; readonly latencyMs: number }
  | { readonly model: string; readonly kind: 'unusable'; readonly reason: string; readonly latencyMs: number }
  | { readonly model: string; readonly kind: 'failed'; readonly error: BackendError }
  /** Still running when the time ran out: aborted. */
  | { readonly model: string; readonly kind: 'late' }
  | { readonly model: string; readonly kind: 'cancelled' };

export interface LongPick<T> {
  readonly answer: LongAnswer<T>;
  /** 'single' | 'similarity' (WEIGHTED's rules). */
  readonly rule: string;
  /** Models whose answer is close to the one picked. */
  readonly agreeing: readonly string[];
}

export interface AskOptions<T> {
  readonly messages: readonly ChatMessage[];
  readonly maxTokens: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly parse: (raw: string) => Parsed<T>;
  /** After each model finishes (answered, unusable or failed): how many of how many are done. */
  readonly onSettled?: (done: number, total: number, outcome: LongOutcome) => void;
  readonly onFailure?: (error: BackendError) => void;
  readonly onSuccess?: (backend: CompletionBackend) => void;
}

export interface AskResult<T> {
  readonly outcomes: readonly LongOutcome[];
  readonly answers: readonly LongAnswer<T>[];
  readonly pick: LongPick<T> | null;
  /** The time ran out before every model finished. */
  readonly timedOut: boolean;
}

/** Whole answers agree from this edit similarity on (lower than for completions: long texts vary in wording). */
const AGREE_THRESHOLD = 0.8;

export async function askModels<T>(members: readonly ChatMember[], options: AskOptions<T>): Promise<AskResult<T>> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  const answers: LongAnswer<T>[] = [];
  let done = 0;

  const outcomes = await Promise.all(
    members.map(async ({ backend, weight, slots }): Promise<LongOutcome> => {
      const model = backend.model;
      const settle = (outcome: LongOutcome): LongOutcome => {
        if (outcome.kind === 'failed') options.onFailure?.(outcome.error);
        else if (outcome.kind === 'answered' || outcome.kind === 'unusable') options.onSuccess?.(backend);
        options.onSettled?.(++done, members.length, outcome);
        return outcome;
      };
      const stopped = (): LongOutcome => ({ model, kind: options.signal.aborted ? 'cancelled' : 'late' });
      let release: () => void;
      try {
        release = await slots.acquire(signal);
      } catch {
        return settle(stopped());
      }
      try {
        const answer = await backend.chat({ messages: options.messages, maxTokens: options.maxTokens, signal });
        const parsed = options.parse(answer.text);
        if (!parsed.ok) return settle({ model, kind: 'unusable', reason: parsed.reason, latencyMs: answer.latencyMs });
        answers.push({ model, weight, value: parsed.value, text: parsed.text, latencyMs: answer.latencyMs });
        return settle({ model, kind: 'answered', latencyMs: answer.latencyMs });
      } catch (err) {
        if (signal.aborted) return settle(stopped());
        const error = err instanceof BackendError ? err : new BackendError('server', String(err), model, backend.host);
        return settle({ model, kind: 'failed', error });
      } finally {
        release();
      }
    }),
  );

  // Fused in configured order, so ties (equal weight) go to the faster answer, whatever order they arrived in.
  const ordered = members.flatMap((m) => answers.filter((a) => a.model === m.backend.model));
  const fused = options.signal.aborted ? null : weighted(ordered, { agreeThreshold: AGREE_THRESHOLD });
  const answer = fused ? ordered.find((a) => a.text === fused.text) : undefined;
  return {
    outcomes,
    answers: ordered,
    pick: fused && answer ? { answer, rule: fused.rule, agreeing: fused.agreeing } : null,
    timedOut: timeout.aborted && !options.signal.aborted,
  };
}
