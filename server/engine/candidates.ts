import type { CompletionContext } from '../context/types.js';
import type { OpenDocument } from '../documents/document-store.js';
import { BackendError, type CompletionBackend, type FimAnswer } from '../models/backend.js';
import type { FusionCandidate } from './fusion/types.js';
import { postprocess } from './postprocess/pipeline.js';
import type { FilterContext } from './postprocess/types.js';

/** One model's answer after post-processing. */
export interface Candidate extends FusionCandidate {
  readonly host: string;
  /** Which sample of the model this is (0 unless ensemble.samples > 1). */
  readonly sample: number;
  /** What the model returned before post-processing. */
  readonly raw: string;
  /** The exact text the model was sent, its FIM template filled in (for the feedback record). */
  readonly prompt?: string;
}

/** What happened to one model call of one completion. */
export type ModelOutcome =
  | { readonly model: string; readonly sample: number; readonly kind: 'answered'; readonly candidate: Candidate }
  /** Answered, but nothing survived post-processing. */
  | { readonly model: string; readonly sample: number; readonly kind: 'filtered'; readonly latencyMs: number }
  | { readonly model: string; readonly sample: number; readonly kind: 'failed'; readonly error: BackendError }
  /** Still running at the deadline: aborted. */
  | { readonly model: string; readonly sample: number; readonly kind: 'late' }
  /** Not needed any more (the cascade had its answer, or the request was superseded): aborted. */
  | { readonly model: string; readonly sample: number; readonly kind: 'cancelled' };

/** The last segment of a document's URI (the file name servers label extra context with). */
function fileNameOf(uri: string): string {
  const path = uri.replace(/[?#].*$/, '');
  try {
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)) || path;
  } catch {
    return path.slice(path.lastIndexOf('/') + 1) || path;
  }
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

export interface CallSpec {
  readonly backend: CompletionBackend;
  readonly weight: number;
  readonly sample: number;
  readonly temperature: number;
  readonly seed?: number;
}

/**
 * One model call for one completion, post-processed. Never throws: failures become outcomes. An abort while the
 * call runs surfaces as a 'failed' outcome of kind 'aborted'; the caller decides whether that was late or
 * cancelled.
 */
export async function callModel(
  spec: CallSpec,
  doc: OpenDocument,
  context: CompletionContext,
  request: { prefix: string; maxTokens: number; signal: AbortSignal; logprobs: boolean },
): Promise<ModelOutcome> {
  const { backend, sample } = spec;
  let answer: FimAnswer;
  try {
    answer = await backend.complete({
      prefix: request.prefix,
      suffix: context.suffix,
      maxTokens: request.maxTokens,
      signal: request.signal,
      temperature: spec.temperature,
      seed: spec.seed,
      logprobs: request.logprobs,
      // The prefix starts with the header; a server with a place for extra context may send it there.
      ...(context.header ? { header: context.header.endsWith('\n') ? context.header : `${context.header}\n` } : {}),
      filename: fileNameOf(context.uri),
    });
  } catch (err) {
    const error = err instanceof BackendError ? err : new BackendError('server', String(err), backend.model, backend.host);
    return { model: backend.model, sample, kind: 'failed', error };
  }
  const text = postprocess(answer.text, filterContextFor(doc, context, answer.stopTokens));
  if (!text) return { model: backend.model, sample, kind: 'filtered', latencyMs: answer.latencyMs };
  return {
    model: backend.model,
    sample,
    kind: 'answered',
    candidate: {
      model: backend.model,
      host: backend.host,
      sample,
      weight: spec.weight,
      text,
      raw: answer.text,
      prompt: answer.prompt,
      latencyMs: answer.latencyMs,
      meanLogprob: answer.meanLogprob,
    },
  };
}
