/**
 * The OpenAI protocol's streamed answers, as llama-server's /v1 endpoints and OpenAI-compatible servers send them:
 * chat (`/chat/completions`) for both backends, and the events of `/completions`.
 */
import { reportText, type ChatAnswer, type ChatRequest } from './backend.js';
import type { JsonClient } from './http-json.js';

/** What one streamed `/completions` event adds. */
export interface CompletionDelta {
  readonly text: string;
  /** Log-probabilities of the tokens this event carries (empty when none were asked for or sent). */
  readonly logprobs: readonly number[];
  readonly finishReason?: string;
}

interface CompletionEvent {
  choices?: {
    text?: unknown;
    finish_reason?: unknown;
    // OpenAI: { tokens, token_logprobs, top_logprobs, text_offset }; llama-server: { content: [{ token, logprob }] }.
    logprobs?: { token_logprobs?: unknown; content?: unknown } | null;
  }[];
}

/**
 * Reads one `/completions` event: OpenAI's logprob shape and llama-server's own (its /v1 answers in it), and
 * llama-server's native event (`content`, `completion_probabilities`: its /completions without /v1 answers so).
 */
export function completionDelta(payload: unknown): CompletionDelta {
  const native = payload as { choices?: unknown; content?: unknown; completion_probabilities?: unknown; stop?: unknown; stop_type?: unknown } | null;
  if (native && native.choices === undefined && typeof native.content === 'string') {
    const probabilities = Array.isArray(native.completion_probabilities) ? (native.completion_probabilities as { logprob?: unknown }[]) : [];
    return {
      text: native.content,
      logprobs: probabilities.flatMap((p) => (typeof p?.logprob === 'number' && Number.isFinite(p.logprob) ? [p.logprob] : [])),
      ...(native.stop === true ? { finishReason: native.stop_type === 'limit' ? 'length' : 'stop' } : {}),
    };
  }
  const choice = (payload as CompletionEvent | null)?.choices?.[0];
  const logprobs: number[] = [];
  const lp = choice?.logprobs;
  if (lp && Array.isArray(lp.token_logprobs)) {
    for (const value of lp.token_logprobs) if (typeof value === 'number' && Number.isFinite(value)) logprobs.push(value);
  } else if (lp && Array.isArray(lp.content)) {
    for (const entry of lp.content as { logprob?: unknown }[]) {
      if (typeof entry?.logprob === 'number' && Number.isFinite(entry.logprob)) logprobs.push(entry.logprob);
    }
  }
  return {
    text: typeof choice?.text === 'string' ? choice.text : '',
    logprobs,
    ...(typeof choice?.finish_reason === 'string' ? { finishReason: choice.finish_reason } : {}),
  };
}

/**
 * Streams a chat answer from `url` (…/chat/completions). `model`: the name to send (OpenAI servers need it;
 * llama-server serves its one model whatever is sent). Reasoning models may stream `reasoning_content` first:
 * only `content` is the answer.
 */
export async function streamChat(client: JsonClient, url: string, request: ChatRequest, model: string): Promise<ChatAnswer> {
  const started = performance.now();
  let text = '';
  let firstTokenMs: number | undefined;
  let doneReason: string | undefined;
  const body = {
    model,
    stream: true,
    max_tokens: request.maxTokens,
    temperature: request.temperature ?? 0,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
  };
  // Failures are thrown as they came: the backend classifies them (a 404 means something else on each server).
  await client.postStream(url, body, request.signal, (payload) => {
    const choice = (payload as { choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[] } | null)?.choices?.[0];
    if (typeof choice?.finish_reason === 'string') doneReason = choice.finish_reason;
    const piece = choice?.delta?.content;
    if (typeof piece !== 'string' || piece === '') return;
    firstTokenMs ??= performance.now() - started;
    text += piece;
    reportText(request, text);
  });
  return { model, text, latencyMs: performance.now() - started, firstTokenMs, doneReason };
}

/** The mean of log-probabilities, undefined for none. */
export function mean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}
