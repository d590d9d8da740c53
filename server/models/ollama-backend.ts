import { Ollama, type ChatResponse, type GenerateRequest, type GenerateResponse } from 'ollama';
import { BackendError, type ChatAnswer, type ChatRequest, type CompletionBackend, type FimAnswer, type FimRequest } from './backend.js';
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
      const error = this.classify(err, request.signal);
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
    try {
      request.signal.throwIfAborted();
      const iterator = await this.client(request.signal).chat({
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
      try {
        for await (const chunk of iterator) {
          // Thinking models may stream `message.thinking` with empty content: only content is the answer.
          const piece = chunk.message?.content ?? '';
          last = chunk;
          if (!piece) continue;
          firstTokenMs ??= performance.now() - started;
          text += piece;
          if (request.onText) {
            try {
              request.onText(text);
            } catch {
              // Progress reporting is best effort: a failing listener never costs the answer.
            }
          }
        }
      } finally {
        // Ends the HTTP request whether we finished, failed or were aborted (a broken for-await alone leaks it).
        iterator.abort();
      }
      return { model: this.model, text, latencyMs: performance.now() - started, firstTokenMs, doneReason: last?.done_reason };
    } catch (err) {
      throw this.classify(err, request.signal, 'chat');
    }
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
      ...(mode.kind === 'suffix'
        ? { prompt: request.prefix, suffix: request.suffix }
        : { prompt: mode.template.build(request.prefix, request.suffix), raw: true }),
      ...(request.logprobs ? { logprobs: true } : {}),
    };
    request.signal.throwIfAborted();
    const iterator = await this.client(request.signal).generate(body);
    let text = '';
    let firstTokenMs: number | undefined;
    let last: GenerateResponse | undefined;
    let logprobSum = 0;
    let logprobCount = 0;
    try {
      for await (const chunk of iterator) {
        if (firstTokenMs === undefined && chunk.response) firstTokenMs = performance.now() - started;
        text += chunk.response;
        const logprobs = (chunk as { logprobs?: { logprob: number }[] }).logprobs;
        if (logprobs) for (const lp of logprobs) (logprobSum += lp.logprob), logprobCount++;
        last = chunk;
      }
    } finally {
      // Ends the HTTP request whether we finished, failed or were aborted (a broken for-await alone leaks it).
      iterator.abort();
    }
    return {
      model: this.model,
      text,
      latencyMs: performance.now() - started,
      firstTokenMs,
      doneReason: last?.done_reason,
      meanLogprob: logprobCount > 0 ? logprobSum / logprobCount : undefined,
      stopTokens: mode.kind === 'raw' ? mode.template.stop : mode.stop,
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
      throw this.classify(err, signal);
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
    const boundFetch: typeof fetch = (input, init) =>
      baseFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
    return new Ollama({ host: this.host, fetch: boundFetch });
  }

  /** Turns whatever fetch or ollama-js threw into a BackendError whose message says what to do. */
  private classify(err: unknown, signal: AbortSignal, endpoint: 'generate' | 'chat' = 'generate'): BackendError {
    if (err instanceof BackendError) return err;
    const e = err as { name?: string; message?: string; status_code?: number; cause?: { code?: string } };
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
    const code = e?.cause?.code ?? (e as { code?: string })?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || /fetch failed/i.test(message))
      return new BackendError(
        'unreachable',
        `Cannot reach Ollama at ${this.host}${code ? ` (${code})` : ''}. Start it with \`ollama serve\`, or point xencode.ollama.host / OLLAMA_HOST at your server.`,
        this.model,
        this.host,
      );
    return new BackendError('server', `Ollama failed for ${at}: ${message}`, this.model, this.host);
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
