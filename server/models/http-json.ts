/**
 * Talking to a JSON/SSE model server (llama-server, any OpenAI-compatible server) with fetch: one GET, one streamed
 * POST, and what a failure means for the user. Cancellation, closing and network failures are http-stream.ts's.
 */
import { BackendError, PROVIDER_LABELS, type BackendErrorKind, type ProviderName } from './backend.js';
import { CallerLink, RESET_CODES, closeStream, closedBeforeAnswer, networkFailure } from './http-stream.js';
import { EventStreamError, readJsonEvents } from './sse.js';

/** A GET that takes longer than this is a server that went quiet (the request's own signal may be longer). */
export const GET_TIMEOUT_MS = 10_000;

/** The server answered with an HTTP error status. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly status: number,
    /** The server's own words: `error.message` of a JSON body, else the body's text (shortened). */
    readonly serverMessage: string,
    /** `error.type` or `error.code` of a JSON body (llama-server: 'unavailable_error', 'exceed_context_size_error'…). */
    readonly errorType: string | undefined,
    readonly url: string,
  ) {
    super(`${status}${serverMessage ? `: ${serverMessage}` : ''}`);
  }
}

/** A failure while the answer streamed (the response had started): the server was there and went away or failed. */
class AnswerBroke extends Error {
  constructor(readonly reason: unknown) {
    super('the answer broke off');
  }
}

export interface JsonClientOptions {
  readonly provider: ProviderName;
  readonly model: string;
  /** The URL messages name (a root URL, or an OpenAI base URL). */
  readonly host: string;
  readonly fetch?: typeof fetch;
  /** What to do when nothing listens at the host, e.g. "Start it: llama-server -m MODEL.gguf --port 8080." */
  readonly startHint: string;
  /** Headers for every request (Authorization), asked for per request. */
  readonly headers?: () => Record<string, string>;
}

/** "llama-server", "The OpenAI-compatible server": a provider's label at the start of a sentence. */
export function labelOf(provider: ProviderName, sentenceStart = false): string {
  const label = PROVIDER_LABELS[provider];
  // Program names stay as they are spelled (llama-server); "the OpenAI-compatible server" starts a sentence as "The".
  return sentenceStart && label.startsWith('the ') ? `The${label.slice(3)}` : label;
}

export class JsonClient {
  private readonly baseFetch: typeof fetch;
  /** e.g. "llama-server at http://127.0.0.1:8080" */
  readonly where: string;
  /** The same, starting a sentence. */
  private readonly whereAtStart: string;

  constructor(private readonly options: JsonClientOptions) {
    this.baseFetch = options.fetch ?? fetch;
    this.where = `${labelOf(options.provider)} at ${options.host}`;
    this.whereAtStart = `${labelOf(options.provider, true)} at ${options.host}`;
  }

  error(kind: BackendErrorKind, message: string): BackendError {
    return new BackendError(kind, message, this.options.model, this.options.host);
  }

  /** GET url as JSON; an error status throws HttpStatusError. Bounded by GET_TIMEOUT_MS. */
  async getJson(url: string, signal: AbortSignal, timeoutMs = GET_TIMEOUT_MS): Promise<unknown> {
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const res = await this.send(url, { method: 'GET', headers: { ...this.options.headers?.() }, signal: bounded });
    if (!res.ok) throw await statusError(res, url);
    return (await res.json()) as unknown;
  }

  /** POST a JSON body, answered with JSON (llama-server /tokenize); bounded like getJson. */
  async postJson(url: string, body: unknown, signal: AbortSignal, timeoutMs = GET_TIMEOUT_MS): Promise<unknown> {
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const headers = { 'content-type': 'application/json', ...this.options.headers?.() };
    const res = await this.send(url, { method: 'POST', headers, body: JSON.stringify(body), signal: bounded });
    if (!res.ok) throw await statusError(res, url);
    return (await res.json()) as unknown;
  }

  /**
   * POSTs `body` and hands each streamed JSON payload to `onEvent`, in order, until the stream ends (or `[DONE]`).
   * The caller's signal closes the request while it streams; a stream abandoned or failed is closed at once, a
   * finished one may end by itself (its connection is kept).
   */
  async postStream(url: string, body: unknown, signal: AbortSignal, onEvent: (payload: unknown) => void): Promise<void> {
    signal.throwIfAborted();
    const link = new CallerLink(signal);
    const local = new AbortController();
    try {
      const res = await this.send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...this.options.headers?.() },
        body: JSON.stringify(body),
        signal: AbortSignal.any([link.signal, local.signal]),
      });
      if (!res.ok) throw await statusError(res, url);
      if (!res.body) throw new EventStreamError('the server answered without a body');
      let finished = false;
      try {
        for await (const payload of readJsonEvents(res.body)) onEvent(payload);
        finished = true;
      } catch (err) {
        throw err instanceof EventStreamError || signal.aborted ? err : new AnswerBroke(err);
      } finally {
        closeStream({ abort: () => local.abort() }, finished);
      }
    } finally {
      // From here on the caller's signal is its own business: the request is done or already closed.
      link.cut();
    }
  }

  /** fetch, once more on a new connection when a kept-alive one was closed before any byte of an answer. */
  private async send(url: string, init: RequestInit & { signal: AbortSignal }): Promise<Response> {
    try {
      return await this.baseFetch(url, init);
    } catch (err) {
      if (init.signal.aborted || !closedBeforeAnswer(err)) throw err;
      return this.baseFetch(url, init);
    }
  }

  /**
   * Whatever a request threw, as a BackendError whose message says what to do. HTTP statuses get the meaning
   * they have on every server; a backend classifies the ones that mean more on its server (404s) first.
   */
  classify(err: unknown, signal: AbortSignal): BackendError {
    // The caller gave up: whatever the failure says (a managed server still 'loading' included), that is an abort.
    if (signal.aborted && !(err instanceof BackendError && err.kind === 'aborted')) return this.error('aborted', 'aborted');
    if (err instanceof BackendError) return err;
    const { model } = this.options;
    const answering = err instanceof AnswerBroke;
    const cause = answering ? err.reason : err;
    if (signal.aborted || (cause as { name?: string })?.name === 'AbortError') return this.error('aborted', 'aborted');
    if (cause instanceof HttpStatusError) return this.statusFailure(cause);
    if (cause instanceof EventStreamError) return this.error('server', `${this.whereAtStart} failed while answering ${model}: ${cause.message}`);
    if ((cause as { name?: string })?.name === 'TimeoutError')
      return this.error('server', `${this.whereAtStart} did not answer within ${GET_TIMEOUT_MS / 1000} s: it may be stuck or overloaded.`);
    const network = networkFailure(cause);
    if (network) {
      const detail = `(${network.code}${network.detail && !network.detail.includes(network.code) ? `: ${network.detail}` : ''})`;
      if (RESET_CODES.has(network.code) || answering) {
        const when = answering ? `in the middle of an answer from ${model}` : `before answering ${model}`;
        return this.error('server', `${this.whereAtStart} closed the connection ${when} ${detail}: it may have crashed or been restarted. The next request will try again.`);
      }
      if (network.code === 'UND_ERR_HEADERS_TIMEOUT' || network.code === 'UND_ERR_BODY_TIMEOUT')
        return this.error('server', `${this.whereAtStart} stopped sending for ${model} ${detail}: it may be stuck.`);
      if (network.code === 'ENOTFOUND' || network.code === 'EAI_AGAIN')
        return this.error('unreachable', `Cannot reach ${this.where} ${detail}: no such host. Check the model's URL in xencode.models.`);
      return this.error('unreachable', `Cannot reach ${this.where} ${detail}. ${this.options.startHint}`);
    }
    const message = (cause as { message?: string })?.message ?? String(cause);
    return this.error('server', `${this.whereAtStart} failed for ${model}: ${message}`);
  }

  /** The meaning an HTTP status has on any JSON model server. */
  statusFailure(err: HttpStatusError): BackendError {
    const { model } = this.options;
    const said = err.serverMessage ? ` (${err.status}: ${err.serverMessage})` : ` (${err.status})`;
    if (err.status === 401 || err.status === 403)
      return this.error('unauthorized', `${this.whereAtStart} refused the request for ${model}${said}: check the API key it expects.`);
    if (err.status === 503 && /loading model/i.test(err.serverMessage))
      return this.error('loading', `${this.whereAtStart} is still loading the model; completions start once it is ready.`);
    if (err.status === 503 || err.status === 429)
      return this.error('busy', `${this.whereAtStart} is busy${said}; the next request will try again.`);
    if (err.status >= 500) return this.error('server', `${this.whereAtStart} failed for ${model}${said}.`);
    if (err.status === 404) return this.error('model-not-found', `${this.whereAtStart} has no model ${model}${said}.`);
    if (/exceed_context|context_length/i.test(err.errorType ?? '') || /context (size|length)/i.test(err.serverMessage))
      return this.error('bad-request', `${this.whereAtStart} could not fit the request for ${model} into its context${said}: give the server a larger context (llama-server -c, vLLM --max-model-len), or lower xencode.completion.contextChars (the code around the cursor sent with each completion).`);
    return this.error('bad-request', `${this.whereAtStart} rejected the request for ${model}${said}.`);
  }
}

/** The HTTP error of a response, with the server's own words (JSON `{"error":{"message","type"}}` or text). */
async function statusError(res: Response, url: string): Promise<HttpStatusError> {
  const text = await res.text().catch(() => '');
  let message = text.trim().slice(0, 500);
  let type: string | undefined;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown } | string; message?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
    else if (parsed.error && typeof parsed.error.message === 'string') {
      message = parsed.error.message;
      type = typeof parsed.error.type === 'string' ? parsed.error.type : typeof parsed.error.code === 'string' ? parsed.error.code : undefined;
    } else if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not JSON (a proxy's page, Ollama's "404 page not found"): its text is the message.
  }
  return new HttpStatusError(res.status, message, type, url);
}

/** A number in a JSON value, or undefined. */
export function numberAt(value: unknown, ...path: (string | number)[]): number | undefined {
  let current: unknown = value;
  for (const key of path) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return typeof current === 'number' && Number.isFinite(current) ? current : undefined;
}

/** The port a server URL names (for the start command in messages); `fallback` when it names none or is malformed
 *  (a malformed URL fails its first request with fetch's own words). */
export function portOf(url: string, fallback = '8080'): string {
  try {
    return new URL(url).port || fallback;
  } catch {
    return fallback;
  }
}
