import { BackendError, type ChatAnswer, type ChatRequest, type CompletionBackend, type FimAnswer, type FimRequest } from './backend.js';
import { FIM_TEMPLATES, templateFor, type FimTemplate } from './fim-templates.js';
import { HttpStatusError, JsonClient, numberAt, portOf } from './http-json.js';
import { byteBound, fitParts, partsBudget, pieceMap, type TokenMap } from './llama-context.js';
import { mean, streamChat } from './openai-protocol.js';

export interface LlamaCppBackendOptions {
  /** A label for messages and statistics (llama-server serves the one model it was started with). */
  readonly model: string;
  /** The server's root URL, e.g. http://127.0.0.1:8080. */
  readonly host: string;
  /**
   * Resolves the root URL before each call: a managed llama-server starts, or waits for, its process here.
   * Default: `host`.
   */
  readonly endpoint?: (signal: AbortSignal) => Promise<string>;
  readonly fetch?: typeof fetch;
  /** How long warm() waits for a server that is still loading its model (default 120 s). */
  readonly loadingWaitMs?: number;
}

/** What llama-server says about itself (GET /props). */
interface ServerInfo {
  readonly slots?: number;
  /** Tokens per slot. */
  readonly contextTokens?: number;
}

const DEFAULT_LOADING_WAIT_MS = 120_000;
const LOADING_POLL_MS = 250;
/** The FIM family llama-server's own tokens most likely follow when the name says nothing (and the tiny models'). */
const DEFAULT_FAMILY = FIM_TEMPLATES[0]!;

/**
 * One model on llama.cpp's llama-server. Fill-in-the-middle goes through /infill, where the server fills the
 * model's own FIM tokens in and the header lines (imports) may go to `input_extra`; chat through
 * /v1/chat/completions. Both stream, and aborting the caller's signal closes the connection, which stops the slot.
 * /props tells the slot count (`serverSlots`) and the slot context, which requests are cut to fit.
 */
export class LlamaCppBackend implements CompletionBackend {
  readonly provider = 'llama.cpp' as const;
  readonly model: string;
  readonly host: string;
  private readonly client: JsonClient;
  private readonly template: FimTemplate;
  private info: { root: string; pending: Promise<ServerInfo> } | undefined;
  private slots: number | undefined;
  /** Whether the server keeps `input_extra` (it drops it when n_batch ≥ n_ctx − 2·n_predict); unknown at first. */
  private extraKept: boolean | undefined;

  constructor(private readonly options: LlamaCppBackendOptions) {
    this.model = options.model;
    this.host = options.host.replace(/\/+$/, '');
    this.template = templateFor(options.model) ?? DEFAULT_FAMILY;
    const port = portOf(this.host);
    this.client = new JsonClient({
      provider: 'llama.cpp',
      model: this.model,
      host: this.host,
      fetch: options.fetch,
      startHint: `Start it: llama-server -m MODEL.gguf --host 127.0.0.1 --port ${port} (or give the model a "gguf" file so that Xencode starts it), or point the model's host at your server.`,
    });
  }

  /** Requests the server serves at once (its `-np` slots), once /props has been read. */
  get serverSlots(): number | undefined {
    return this.slots;
  }

  async complete(request: FimRequest): Promise<FimAnswer> {
    const started = performance.now();
    const { signal } = request;
    let root = this.host;
    try {
      root = await this.root(signal);
      const info = await this.serverInfo(root, signal);
      const parts = await this.fimParts(root, request, info);
      let text = '';
      let firstTokenMs: number | undefined;
      let doneReason: string | undefined;
      let rendered: string | undefined;
      const logprobs: number[] = [];
      const body = {
        input_prefix: parts.prefix,
        input_suffix: parts.suffix,
        ...(parts.extra !== undefined ? { input_extra: [{ filename: request.filename ?? '', text: parts.extra }] } : {}),
        n_predict: request.maxTokens,
        temperature: request.temperature ?? 0,
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(request.logprobs ? { n_probs: 1 } : {}),
        stop: [...this.template.stop],
        stream: true,
        cache_prompt: true,
      };
      await this.client.postStream(`${root}/infill`, body, signal, (payload) => {
        const event = payload as { content?: unknown; stop?: unknown; stop_type?: unknown; prompt?: unknown; completion_probabilities?: unknown };
        if (typeof event.content === 'string' && event.content !== '') {
          firstTokenMs ??= performance.now() - started;
          text += event.content;
        }
        if (Array.isArray(event.completion_probabilities)) {
          for (const p of event.completion_probabilities as { logprob?: unknown }[]) if (typeof p?.logprob === 'number' && Number.isFinite(p.logprob)) logprobs.push(p.logprob);
        }
        if (event.stop === true) {
          doneReason = event.stop_type === 'limit' ? 'length' : event.stop_type === 'eos' || event.stop_type === 'word' ? 'stop' : undefined;
          if (typeof event.prompt === 'string') rendered = event.prompt;
        }
      });
      if (parts.extra !== undefined && rendered !== undefined) this.extraKept = keptExtra(rendered, parts.extra, parts.prefix + parts.suffix);
      return {
        model: this.model,
        text,
        latencyMs: performance.now() - started,
        firstTokenMs,
        doneReason,
        meanLogprob: mean(logprobs),
        stopTokens: this.template.stop,
        // What the server rendered (its final event's `prompt`: BOS, the extra context, the model's own FIM
        // tokens, detokenized); servers that do not say: the family's template around what was sent.
        prompt: rendered ?? this.template.build((parts.extra ?? '') + parts.prefix, parts.suffix),
      };
    } catch (err) {
      throw await this.classify(err, root, signal, 'infill');
    }
  }

  async chat(request: ChatRequest): Promise<ChatAnswer> {
    let root = this.host;
    try {
      root = await this.root(request.signal);
      return await streamChat(this.client, `${root}/v1/chat/completions`, request, this.model);
    } catch (err) {
      throw await this.classify(err, root, request.signal, 'chat');
    }
  }

  /** Waits (bounded) while the server loads its model, then reads /props. Throws the BackendError of a failure. */
  async warm(): Promise<void> {
    const deadline = performance.now() + (this.options.loadingWaitMs ?? DEFAULT_LOADING_WAIT_MS);
    for (;;) {
      const signal = new AbortController().signal;
      let root = this.host;
      try {
        root = await this.root(signal);
        await this.serverInfo(root, signal);
        return;
      } catch (err) {
        const error = await this.classify(err, root, signal, 'health');
        if (error.kind !== 'loading' || performance.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, LOADING_POLL_MS));
      }
    }
  }

  /** GET /health: 200 when the model is loaded; 'loading' while it loads. */
  async probe(signal: AbortSignal): Promise<void> {
    let root = this.host;
    try {
      root = await this.root(signal);
      await this.client.getJson(`${root}/health`, signal);
    } catch (err) {
      throw await this.classify(err, root, signal, 'health');
    }
  }

  async close(): Promise<void> {
    // Nothing of its own: a managed server is owned by whoever gave `endpoint`.
  }

  private root(signal: AbortSignal): Promise<string> {
    return this.options.endpoint ? this.options.endpoint(signal).then((r) => r.replace(/\/+$/, '')) : Promise.resolve(this.host);
  }

  /** GET /props once per server root (again after a failure, or when a managed server moved). */
  private serverInfo(root: string, signal: AbortSignal): Promise<ServerInfo> {
    if (this.info?.root !== root) {
      const pending = this.client.getJson(`${root}/props`, signal).then((props): ServerInfo => {
        const slots = numberAt(props, 'total_slots');
        const contextTokens = numberAt(props, 'default_generation_settings', 'n_ctx');
        if (slots !== undefined && slots > 0) this.slots = slots;
        return { slots, contextTokens };
      });
      const entry = { root, pending };
      this.info = entry;
      pending.catch(() => {
        if (this.info === entry) this.info = undefined;
      });
    }
    return this.info.pending;
  }

  /**
   * What to send: the header (imports) as `input_extra` where the server keeps it, and the parts cut to the
   * slot's context. Within the bound of one token per byte nothing is asked; beyond it /tokenize counts exactly.
   */
  private async fimParts(root: string, request: FimRequest, info: ServerInfo): Promise<{ prefix: string; suffix: string; extra?: string }> {
    const { header, signal } = request;
    const extra = header && request.prefix.startsWith(header) && this.extraKept !== false ? header : undefined;
    const split = extra !== undefined ? { prefix: request.prefix.slice(extra.length), suffix: request.suffix, extra } : { prefix: request.prefix, suffix: request.suffix };
    if (info.contextTokens === undefined) return split;
    const budget = partsBudget({ contextTokens: info.contextTokens, maxTokens: request.maxTokens });
    const extraCost = extra !== undefined ? byteBound(extra).count + byteBound(request.filename ?? '').count : 0;
    if (byteBound(split.prefix).count + byteBound(split.suffix).count + extraCost <= budget) return split;
    const [prefixMap, suffixMap] = await Promise.all([this.tokenMap(root, request.prefix, signal), this.tokenMap(root, request.suffix, signal)]);
    if (prefixMap.count + suffixMap.count <= budget) return split;
    // Too long: the header goes back to the front of the prefix, where the cut takes it first.
    return fitParts(request.prefix, request.suffix, { prefix: prefixMap, suffix: suffixMap }, budget);
  }

  /** The exact token map of a text (POST /tokenize with pieces); the byte bound when the server cannot say. */
  private async tokenMap(root: string, text: string, signal: AbortSignal): Promise<TokenMap> {
    if (text === '') return byteBound(text);
    try {
      const answer = (await this.client.postJson(`${root}/tokenize`, { content: text, add_special: false, with_pieces: true }, signal)) as {
        tokens?: { piece?: string | number[] }[];
      };
      const pieces = answer.tokens?.map((t) => t.piece);
      if (pieces && pieces.every((p) => typeof p === 'string' || Array.isArray(p))) return pieceMap(text, pieces as (string | number[])[]);
    } catch {
      signal.throwIfAborted();
    }
    return byteBound(text);
  }

  /**
   * A failure as the user should hear it. 404s and 501s mean more here: an Ollama server at the URL (it answers
   * /api/version), or a model without FIM tokens (/infill is "not supported by this model").
   */
  private async classify(err: unknown, root: string, signal: AbortSignal, endpoint: 'infill' | 'chat' | 'health'): Promise<BackendError> {
    if (err instanceof HttpStatusError && (err.status === 404 || err.status === 405 || err.status === 501)) {
      if (err.status !== 501 && (await this.ollamaAt(root, signal)))
        return this.client.error(
          'wrong-provider',
          `${this.host} is an Ollama server, not llama-server: set "provider": "ollama" for ${this.model} in xencode.models (or point its host at llama-server).`,
        );
      if (endpoint === 'infill' && (err.status === 501 || /infill|not supported/i.test(err.serverMessage) || err.url.endsWith('/infill')))
        return this.client.error(
          'no-insert',
          `The model llama-server at ${this.host} serves cannot fill in the middle (${err.status}: ${err.serverMessage}): its GGUF has no FIM tokens. ` +
            `Serve a code model that has them (qwen2.5-coder, starcoder2, codellama, deepseek-coder, codegemma GGUFs), or use provider "openai" with a "fimTemplate".`,
        );
      if (!err.url.endsWith('/infill'))
        return this.client.error('wrong-provider', `${this.host} answered ${err.status} for ${new URL(err.url).pathname}: it does not look like llama-server. Check the model's host and provider.`);
    }
    return this.client.classify(err, signal);
  }

  /** Whether an Ollama server answers at root (GET /api/version gives its version; llama-server says 404). */
  private async ollamaAt(root: string, signal: AbortSignal): Promise<boolean> {
    try {
      const answer = await this.client.getJson(`${root}/api/version`, signal, 3000);
      return typeof (answer as { version?: unknown } | null)?.version === 'string';
    } catch {
      return false;
    }
  }
}

/**
 * Whether the server kept the extra context: its last line appears in the rendered prompt more often than in the
 * prefix and suffix alone (the server cuts extra context from its front, so the last line is the one kept longest).
 */
export function keptExtra(rendered: string, extra: string, rest: string): boolean {
  const line = extra.split('\n').map((l) => l.trim()).filter((l) => l !== '').pop();
  if (line === undefined) return true;
  return occurrences(rendered, line) > occurrences(rest, line);
}

function occurrences(text: string, part: string): number {
  let count = 0;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length)) count++;
  return count;
}
