import { Ollama, type ChatResponse, type GenerateRequest, type GenerateResponse } from 'ollama';
import { BackendError, reportText, type ChatAnswer, type ChatRequest, type CompletionBackend, type FimAnswer, type FimRequest } from './backend.js';
import { CallerLink, RESET_CODES, closeStream, closedBeforeAnswer, networkFailure, type NetworkFailure } from './http-stream.js';
import { FIM_MODEL_SUGGESTIONS, templateFor, type FimTemplate } from './fim-templates.js';

export interface OllamaBackendOptions {
  readonly model: string;
  readonly host: string;
  readonly keepAlive: string;
  /** Used instead of the global fetch; tests and benchmarks never need it, it exists for proxies. */
  readonly fetch?: typeof fetch;
}

/** Models with an instruct (chat) template that are good at code: suggested when the configured one cannot chat. */
export const CHAT_MODEL_SUGGESTIONS: readonly string[] = ['qwen2.5-coder:7b', 'qwen2.5-coder:1.5b'];

/** How the model is asked to fill in the middle. */
type FimMode = { kind: 'suffix'; stop: readonly string[] } | { kind: 'raw'; template: FimTemplate };


/**
 * One model on one Ollama server. Fill-in-the-middle goes through Ollama's `suffix` when the model's template
 * supports insertion (`/api/show` lists the `insert` capability), else through raw mode with the family's FIM
 * template. Chat (code actions, hovers) goes through /api/chat. Every call streams, and aborting the caller's
 * signal closes the HTTP request at once (ollama-js has no per-request signal, so each call gets a fetch bound to
 * its own signal).
 */
export class OllamaBackend implements CompletionBackend {
  readonly provider = 'ollama' as const;
  readonly model: string;
  readonly host: string;
  private mode: Promise<FimMode> | undefined;
  private logprobsSupport: Promise<boolean> | undefined;
  private readonly baseFetch: typeof fetch;

  constructor(private readonly options: OllamaBackendOptions) {
    this.model = options.model;
    this.host = options.host;
    this.baseFetch = options.fetch ?? fetch;
  }

  async warm(): Promise<void> {
    const controller = new AbortController();
    // An empty prompt loads the model and returns at once; keep_alive keeps it resident between keystrokes.
    await this.client(controller.signal).generate({ model: this.model, prompt: '', keep_alive: this.options.keepAlive, stream: false });
  }

  async complete(request: FimRequest): Promise<FimAnswer> {
    const started = performance.now();
    let mode = await this.fimMode(request.signal);
    // Ollama treats an empty prompt as "load the model" and ignores the suffix: at the very start of a file the
    // raw template is the only way to fill in the middle.
    if (mode.kind === 'suffix' && request.prefix === '') {
      const template = templateFor(this.model);
      if (!template) return { model: this.model, text: '', latencyMs: 0, stopTokens: mode.stop };
      mode = { kind: 'raw', template };
    }
    // Ask for logprobs only from servers that return them (0.12.11+); older ones would reject the field.
    if (request.logprobs && !(await this.supportsLogprobs(request.signal))) request = { ...request, logprobs: false };
    try {
      return await this.stream(request, mode, started);
    } catch (err) {
      const error = await this.explain(this.classify(err, request.signal), request.signal);
      // The server says the model cannot insert although /api/show did not tell us: switch to raw mode once.
      if (error.kind === 'no-insert' && mode.kind === 'suffix') {
        const template = templateFor(this.model);
        if (template) {
          this.mode = Promise.resolve({ kind: 'raw', template });
          return this.stream(request, { kind: 'raw', template }, started).catch((e: unknown) => {
            throw this.classify(e, request.signal);
          });
        }
      }
      throw error;
    }
  }

  async chat(request: ChatRequest): Promise<ChatAnswer> {
    const started = performance.now();
    let link: CallerLink | undefined;
    try {
      request.signal.throwIfAborted();
      link = new CallerLink(request.signal);
      const iterator = await this.client(link.signal).chat({
        model: this.model,
        stream: true,
        keep_alive: this.options.keepAlive,
        // Copies: ollama-js rewrites message objects in place (images). No `think`: older servers and models
        // without the thinking capability reject it. Only options that never force a model reload.
        messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
        options: { num_predict: request.maxTokens, temperature: request.temperature ?? 0 },
      });
      let text = '';
      let firstTokenMs: number | undefined;
      let last: ChatResponse | undefined;
      let finished = false;
      try {
        for await (const chunk of iterator) {
          // Thinking models may stream `message.thinking` with empty content: only content is the answer.
          const piece = chunk.message?.content ?? '';
          last = chunk;
          if (!piece) continue;
          firstTokenMs ??= performance.now() - started;
          text += piece;
          reportText(request, text);
        }
        finished = true;
      } catch (err) {
        throw this.classify(err, request.signal, 'chat', true);
      } finally {
        closeStream(iterator, finished);
      }
      return { model: this.model, text, latencyMs: performance.now() - started, firstTokenMs, doneReason: last?.done_reason };
    } catch (err) {
      throw await this.explain(this.classify(err, request.signal, 'chat'), request.signal);
    } finally {
      link?.cut();
    }
  }

  /** GET /api/version: the server is up and speaks Ollama's API. */
  async probe(signal: AbortSignal): Promise<void> {
    try {
      await this.client(signal).version();
    } catch (err) {
      throw await this.explain(this.classify(err, signal), signal);
    }
  }

  /**
   * A 404 may mean that the server at the URL is not Ollama at all: llama-server answers /api/* with 404, which
   * would read as "model not installed". It answers GET /health, which Ollama does not have.
   */
  private async explain(error: BackendError, signal: AbortSignal): Promise<BackendError> {
    if (error.kind !== 'model-not-found' || signal.aborted || !(await llamaServerAt(this.host, this.baseFetch, signal))) return error;
    return new BackendError(
      'wrong-provider',
      `${this.host} is llama-server, not Ollama: set "provider": "llama.cpp" for ${this.model} in xencode.models (or point its host at Ollama).`,
      this.model,
      this.host,
    );
  }

  private supportsLogprobs(signal: AbortSignal): Promise<boolean> {
    this.logprobsSupport ??= this.client(signal)
      .version()
      .then(({ version }) => versionAtLeast(version, [0, 12, 11]))
      .catch(() => {
        this.logprobsSupport = undefined;
        return false;
      });
    return this.logprobsSupport;
  }

  private async stream(request: FimRequest, mode: FimMode, started: number): Promise<FimAnswer> {
    const rawPrompt = mode.kind === 'raw' ? mode.template.build(request.prefix, request.suffix) : undefined;
    const body: GenerateRequest & { stream: true; logprobs?: boolean } = {
      model: this.model,
      stream: true,
      keep_alive: this.options.keepAlive,
      // Only options that never force a model reload (num_ctx, num_batch… stay at the server's values).
      options: {
        num_predict: request.maxTokens,
        temperature: request.temperature ?? 0,
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        stop: [...(mode.kind === 'raw' ? mode.template.stop : mode.stop)],
      },
      ...(mode.kind === 'suffix' ? { prompt: request.prefix, suffix: request.suffix } : { prompt: rawPrompt!, raw: true }),
      ...(request.logprobs ? { logprobs: true } : {}),
    };
    request.signal.throwIfAborted();
    const link = new CallerLink(request.signal);
    let text = '';
    let firstTokenMs: number | undefined;
    let last: GenerateResponse | undefined;
    let logprobSum = 0;
    let logprobCount = 0;
    try {
      const iterator = await this.client(link.signal).generate(body);
      let finished = false;
      try {
        for await (const chunk of iterator) {
          if (firstTokenMs === undefined && chunk.response) firstTokenMs = performance.now() - started;
          text += chunk.response;
          const logprobs = (chunk as { logprobs?: { logprob: number }[] }).logprobs;
          if (logprobs) for (const lp of logprobs) (logprobSum += lp.logprob), logprobCount++;
          last = chunk;
        }
        finished = true;
      } catch (err) {
        throw this.classify(err, request.signal, 'generate', true);
      } finally {
        closeStream(iterator, finished);
      }
    } finally {
      // From here on the caller's signal is its own business: the request is done or already closed.
      link.cut();
    }
    return {
      model: this.model,
      text,
      latencyMs: performance.now() - started,
      firstTokenMs,
      doneReason: last?.done_reason,
      meanLogprob: logprobCount > 0 ? logprobSum / logprobCount : undefined,
      stopTokens: mode.kind === 'raw' ? mode.template.stop : mode.stop,
      // Ollama fills the model's own template with prefix and suffix; the family's is the same text (V8 joins
      // the strings lazily, so this costs nothing until a feedback record is written).
      prompt: rawPrompt ?? templateFor(this.model)?.build(request.prefix, request.suffix),
    };
  }

  private fimMode(signal: AbortSignal): Promise<FimMode> {
    if (!this.mode) {
      const pending = this.detectMode(signal);
      this.mode = pending;
      // A failed look-up (server down, model missing) is retried on the next request.
      pending.catch(() => {
        if (this.mode === pending) this.mode = undefined;
      });
    }
    return this.mode;
  }

  private async detectMode(signal: AbortSignal): Promise<FimMode> {
    let capabilities: string[] | undefined;
    try {
      const shown = await this.client(signal).show({ model: this.model });
      capabilities = (shown as { capabilities?: string[] }).capabilities;
    } catch (err) {
      throw await this.explain(this.classify(err, signal), signal);
    }
    const template = templateFor(this.model);
    // Servers before 0.6.4 do not list capabilities: trust the suffix and fall back on a 400.
    if (!capabilities || capabilities.includes('insert')) return { kind: 'suffix', stop: template?.stop ?? [] };
    if (template) return { kind: 'raw', template };
    throw new BackendError(
      'no-insert',
      `Model ${this.model} cannot fill in the middle (its template has no suffix) and Xencode knows no FIM format for it. ` +
        `Use a code model that can, for example: ${FIM_MODEL_SUGGESTIONS.join(', ')}.`,
      this.model,
      this.host,
    );
  }

  private client(signal: AbortSignal): Ollama {
    const baseFetch = this.baseFetch;
    const boundFetch: typeof fetch = async (input, init) => {
      const options = { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal };
      try {
        return await baseFetch(input, options);
      } catch (err) {
        // A kept-alive connection the server closed while idle fails the next request before any byte of an
        // answer (nothing was answered, so asking again is safe): once more, on a new connection. A server that
        // closes every connection fails the second time too, and the user hears about it.
        if (options.signal.aborted || !closedBeforeAnswer(err)) throw err;
        return baseFetch(input, options);
      }
    };
    return new Ollama({ host: this.host, fetch: boundFetch });
  }

  /**
   * Turns whatever fetch or ollama-js threw into a BackendError whose message says what to do. `answering`: the
   * failure came while the answer streamed (the response had started), not while asking.
   */
  private classify(err: unknown, signal: AbortSignal, endpoint: 'generate' | 'chat' = 'generate', answering = false): BackendError {
    if (err instanceof BackendError) return err;
    const e = err as { name?: string; message?: string; status_code?: number };
    const message = e?.message ?? String(err);
    const at = `${this.model} at ${this.host}`;
    if (signal.aborted || e?.name === 'AbortError') return new BackendError('aborted', 'aborted', this.model, this.host);
    if (e?.name === 'ResponseError' || typeof e?.status_code === 'number') {
      const status = e.status_code ?? 0;
      if (status === 404 || /not found/i.test(message))
        return new BackendError('model-not-found', `Model ${this.model} is not installed on ${this.host}. Run: ollama pull ${this.model}`, this.model, this.host);
      // Ollama words a model without the completion capability "… does not support chat" on /api/chat (older
      // servers: "… does not support generate"). Base (FIM) models can chat; embedding models and the like cannot.
      if (endpoint === 'chat' && /does not support (chat|generate)/i.test(message))
        return new BackendError(
          'bad-request',
          `Model ${this.model} at ${this.host} cannot chat (${message}), so it cannot answer code actions or hovers. ` +
            `Use an instruct (chat) model, for example ${CHAT_MODEL_SUGGESTIONS.join(' or ')} (their instruct template supports chat).`,
          this.model,
          this.host,
        );
      if (/does not support insert/i.test(message))
        return new BackendError('no-insert', `Model ${this.model} does not support fill-in-the-middle (insert). Use a code model such as ${FIM_MODEL_SUGGESTIONS.join(', ')}.`, this.model, this.host);
      if (status === 503)
        return new BackendError('busy', `Ollama at ${this.host} is busy (queue full): ${message}`, this.model, this.host);
      if (status >= 500) return new BackendError('server', `Ollama failed for ${at}: ${message}`, this.model, this.host);
      return new BackendError('bad-request', `Ollama rejected the request for ${at}: ${message}`, this.model, this.host);
    }
    const network = networkFailure(err);
    if (network) return this.networkError(network, answering);
    return new BackendError('server', `Ollama failed for ${at}: ${message}`, this.model, this.host);
  }

  /**
   * Nothing listening, no such host, no route: the server cannot be reached ('unreachable', one message per host
   * and a word when it is back). A connection that was there and got reset or closed: Ollama is running (or was),
   * so 'server', per model, cleared silently by the next answer. Undici's own timeouts: a server that went quiet.
   */
  private networkError({ code, detail }: NetworkFailure, answering: boolean): BackendError {
    const cause = `(${code}${detail && !detail.includes(code) ? `: ${detail}` : ''})`;
    const fail = (kind: 'unreachable' | 'server', text: string) => new BackendError(kind, text, this.model, this.host);
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
      return fail('server', `Ollama at ${this.host} stopped sending for ${this.model} ${cause}: it may be stuck; see \`ollama ps\` and the log of \`ollama serve\`.`);
    // Whatever broke an answer that had started, the server was there: it went away in the middle.
    if (RESET_CODES.has(code) || answering) {
      const when = answering ? `in the middle of an answer from ${this.model}` : `before answering ${this.model}`;
      return fail(
        'server',
        `Ollama at ${this.host} closed the connection ${when} ${cause}: it may have crashed or been restarted; ` +
          'see the log of `ollama serve`. The next request will try again.',
      );
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return fail('unreachable', `Cannot reach Ollama at ${this.host} ${cause}: no such host. Check xencode.ollama.host / OLLAMA_HOST.`);
    if (code === 'ECONNREFUSED' || code === 'fetch failed')
      return fail(
        'unreachable',
        `Cannot reach Ollama at ${this.host} ${cause}. Start it with \`ollama serve\`, or point xencode.ollama.host / OLLAMA_HOST at your server.`,
      );
    // EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, a connect timeout: something is in the way, or the host is down.
    return fail('unreachable', `Cannot reach Ollama at ${this.host} ${cause}: is the host up, and does xencode.ollama.host / OLLAMA_HOST name it?`);
  }
}

/**
 * Whether llama-server answers at host: its GET /health gives {"status":"ok"}, or 503 {"error":{"message":"Loading
 * model"}} while it loads (Ollama has no /health: 404).
 */
export async function llamaServerAt(host: string, fetchFn: typeof fetch, signal: AbortSignal): Promise<boolean> {
  try {
    const res = await fetchFn(`${host.replace(/\/+$/, '')}/health`, { signal: AbortSignal.any([signal, AbortSignal.timeout(3000)]) });
    const body = (await res.json().catch(() => undefined)) as { status?: unknown; error?: { message?: unknown } } | undefined;
    return (res.ok && body?.status === 'ok') || (res.status === 503 && typeof body?.error?.message === 'string' && /loading model/i.test(body.error.message));
  } catch {
    return false;
  }
}

/** Whether a server version like '0.12.11' or '0.13.0-rc1' is at least `minimum`. */
export function versionAtLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.replace(/^v/, '').split(/[.-]/).map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < minimum.length; i++) {
    const part = Number.isFinite(parts[i]) ? parts[i]! : 0;
    if (part !== minimum[i]) return part > minimum[i]!;
  }
  return true;
}
