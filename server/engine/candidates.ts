import type { CompletionContext } from '../context/types.js';
import type { OpenDocument } from '../documents/document-store.js';
import { BackendError, type CompletionBackend, type FimAnswer } from '../models/backend.js';
import { postprocess } from './postprocess/pipeline.js';
import type { FilterContext } from './postprocess/types.js';

/** One model's answer after post-processing. */
export interface Candidate {
  readonly model: string;
  readonly host: string;
  /** The post-processed text (never empty). */
  readonly text: string;
  /** What the model returned before post-processing. */
  readonly raw: string;
  readonly latencyMs: number;
  readonly meanLogprob?: number;
}

/** What happened to each model asked for one completion. */
export type ModelOutcome =
  | { readonly model: string; readonly kind: 'answered'; readonly candidate: Candidate }
  | { readonly model: string; readonly kind: 'filtered'; readonly latencyMs: number } // answered, but nothing survived post-processing
  | { readonly model: string; readonly kind: 'failed'; readonly error: BackendError }
  | { readonly model: string; readonly kind: 'late' }; // aborted at the deadline

export interface AskOptions {
  readonly maxTokens: number;
  readonly deadlineMs: number;
  readonly signal: AbortSignal;
  readonly onFailure: (error: BackendError) => void;
  readonly onSuccess: (backend: CompletionBackend) => void;
}

/** The prompt prefix: header lines from outside the window, then the window. */
export function promptPrefix(context: CompletionContext): string {
  if (!context.header) return context.prefix;
  return context.header.endsWith('\n') ? context.header + context.prefix : `${context.header}\n${context.prefix}`;
}

export function filterContextFor(doc: OpenDocument, context: CompletionContext, stopTokens: readonly string[]): FilterContext {
  return {
    prefix: context.prefix,
    suffix: context.suffix,
    linePrefix: context.linePrefix,
    lineSuffix: context.lineSuffix,
    indent: context.indent,
    stopTokens,
    syntax: doc.syntax,
  };
}

/**
 * Asks every backend in parallel for the same fill-in-the-middle, each bounded by the deadline and the caller's
 * signal; late calls are aborted, not left running. Every answer passes the same post-processing.
 */
export async function askAll(
  backends: readonly CompletionBackend[],
  doc: OpenDocument,
  context: CompletionContext,
  options: AskOptions,
): Promise<ModelOutcome[]> {
  const deadline = AbortSignal.timeout(options.deadlineMs);
  const signal = AbortSignal.any([options.signal, deadline]);
  const prefix = promptPrefix(context);
  return Promise.all(
    backends.map(async (backend): Promise<ModelOutcome> => {
      let answer: FimAnswer;
      try {
        answer = await backend.complete({ prefix, suffix: context.suffix, maxTokens: options.maxTokens, signal });
      } catch (err) {
        const error = err instanceof BackendError ? err : new BackendError('server', String(err), backend.model, backend.host);
        if (error.kind === 'aborted') return deadline.aborted && !options.signal.aborted ? { model: backend.model, kind: 'late' } : { model: backend.model, kind: 'failed', error };
        options.onFailure(error);
        return { model: backend.model, kind: 'failed', error };
      }
      options.onSuccess(backend);
      const text = postprocess(answer.text, filterContextFor(doc, context, answer.stopTokens));
      if (!text) return { model: backend.model, kind: 'filtered', latencyMs: answer.latencyMs };
      return {
        model: backend.model,
        kind: 'answered',
        candidate: { model: backend.model, host: backend.host, text, raw: answer.text, latencyMs: answer.latencyMs, meanLogprob: answer.meanLogprob },
      };
    }),
  );
}
