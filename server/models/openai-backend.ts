import { BackendError, type ChatAnswer, type ChatRequest, type CompletionBackend, type FimAnswer, type FimRequest } from './backend.js';
import { FIM_TEMPLATES, templateFor, type FimTemplate } from './fim-templates.js';
import { HttpStatusError, JsonClient, portOf } from './http-json.js';
import { completionDelta, mean, streamChat } from './openai-protocol.js';

export interface OpenAIBackendOptions {
  /** The model name sent in requests. */
  readonly model: string;
  /** The API's base URL, ending in /v1 (e.g. http://127.0.0.1:8080/v1). */
  readonly baseUrl: string;
  /** The environment variable that holds the API key (never the key itself). */
  readonly apiKeyEnv?: string;
  readonly env: NodeJS.ProcessEnv;
  /** The FIM family (fim-templates.ts) to fill the prompt with, when the model's name does not say. */
  readonly fimTemplate?: string;
  readonly fetch?: typeof fetch;
}

/** Strict servers (OpenAI's own) take at most four stop sequences; post-processing cuts at the rest. */
const MAX_STOP_SEQUENCES = 4;

/**
 * One model on an OpenAI-compatible server (vLLM, LM Studio, llama-server's /v1, …). Fill-in-the-middle goes
 * through /completions with the family's FIM template written into the prompt (such servers ignore `suffix`);
 * chat through /chat/completions. Both stream; aborting the caller's signal closes the connection.
 */
export class OpenAIBackend implements CompletionBackend {
  readonly provider = 'openai' as const;
  readonly model: string;
  readonly host: string;
  private readonly client: JsonClient;

  constructor(private readonly options: OpenAIBackendOptions) {
    this.model = options.model;
    this.host = options.baseUrl.replace(/\/+$/, '');
    const port = portOf(this.host);
    this.client = new JsonClient({
      provider: 'openai',
      model: this.model,
      host: this.host,
      fetch: options.fetch,
      startHint: `Start the server (llama-server: llama-server -m MODEL.gguf --host 127.0.0.1 --port ${port}), or point the model's baseUrl at it.`,
      headers: (): Record<string, string> => {
        const key = this.apiKey();
        return key ? { authorization: `Bearer ${key}` } : {};
      },
    });
  }

  async complete(request: FimRequest): Promise<FimAnswer> {
    const started = performance.now();
    try {
      const template = this.template();
      this.requireKey();
      const prompt = template.build(request.prefix, request.suffix);
      let text = '';
      let firstTokenMs: number | undefined;
      let doneReason: string | undefined;
      const logprobs: number[] = [];
      const body = {
        model: this.model,
        prompt,
        max_tokens: request.maxTokens,
        temperature: request.temperature ?? 0,
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(request.logprobs ? { logprobs: 1 } : {}),
        stop: template.stop.slice(0, MAX_STOP_SEQUENCES),
        stream: true,
      };
      await this.client.postStream(`${this.host}/completions`, body, request.signal, (payload) => {
        const delta = completionDelta(payload);
        if (delta.text !== '') {
          firstTokenMs ??= performance.now() - started;
          text += delta.text;
        }
        logprobs.push(...delta.logprobs);
        if (delta.finishReason) doneReason = delta.finishReason;
      });
      return {
        model: this.model,
        text,
        latencyMs: performance.now() - started,
        firstTokenMs,
        doneReason,
        meanLogprob: mean(logprobs),
        stopTokens: template.stop,
        prompt,
      };
    } catch (err) {
      throw await this.classify(err, request.signal, '/completions');
    }
  }

  async chat(request: ChatRequest): Promise<ChatAnswer> {
    try {
      this.requireKey();
      return await streamChat(this.client, `${this.host}/chat/completions`, request, this.model);
    } catch (err) {
      throw await this.classify(err, request.signal, '/chat/completions');
    }
  }

  /** Checks that the server answers (GET /models); throws the BackendError of a failure. */
  async warm(): Promise<void> {
    await this.probe(new AbortController().signal);
  }

  async probe(signal: AbortSignal): Promise<void> {
    try {
      this.requireKey();
      await this.client.getJson(`${this.host}/models`, signal);
    } catch (err) {
      throw await this.classify(err, signal, '/models');
    }
  }

  async close(): Promise<void> {
    // Nothing of its own.
  }

  /** The key from the named variable; undefined when no variable is named (servers without keys). */
  private apiKey(): string | undefined {
    const name = this.options.apiKeyEnv;
    return name ? this.options.env[name] || undefined : undefined;
  }

  /** A variable named but empty: said before anything is sent (the server would only answer 401). */
  private requireKey(): void {
    const name = this.options.apiKeyEnv;
    if (name && !this.apiKey())
      throw this.client.error(
        'unauthorized',
        `No API key for ${this.model} at ${this.host}: set ${name} (named by xencode.models[].apiKeyEnv) in the environment the editor starts Xencode in.`,
      );
  }

  /** The FIM family: the one named in `fimTemplate`, else the one the model's name says. */
  private template(): FimTemplate {
    const families = FIM_TEMPLATES.map((t) => t.family).join(', ');
    const named = this.options.fimTemplate;
    if (named !== undefined) {
      const template = FIM_TEMPLATES.find((t) => t.family === named);
      if (!template) throw this.client.error('no-insert', `"fimTemplate": "${named}" for ${this.model} is not a FIM family Xencode knows: use one of ${families}.`);
      return template;
    }
    const template = templateFor(this.model);
    if (!template)
      throw this.client.error(
        'no-insert',
        `Xencode knows no fill-in-the-middle format for the model name "${this.model}" at ${this.host} (OpenAI-compatible servers ignore \`suffix\`, so the prompt needs the model's FIM tokens): ` +
          `set "fimTemplate" for it to the model's family, one of ${families}.`,
      );
    return template;
  }

  /** A failure as the user should hear it: what 401s and 404s mean on an OpenAI-compatible server. */
  private async classify(err: unknown, signal: AbortSignal, path: string): Promise<BackendError> {
    if (err instanceof HttpStatusError && (err.status === 401 || err.status === 403)) {
      const name = this.options.apiKeyEnv;
      const said = `(${err.status}${err.serverMessage ? `: ${err.serverMessage}` : ''})`;
      return this.client.error(
        'unauthorized',
        name
          ? `The OpenAI-compatible server at ${this.host} refused the API key in ${name} ${said}: set ${name} to a valid key in the environment the editor starts Xencode in.`
          : `The OpenAI-compatible server at ${this.host} wants an API key ${said}: put it in an environment variable and name that in xencode.models[].apiKeyEnv (e.g. "apiKeyEnv": "OPENAI_API_KEY").`,
      );
    }
    if (err instanceof HttpStatusError && err.status === 404) {
      if (!/\/v1$/.test(this.host))
        return this.client.error(
          'bad-request',
          `The server at ${this.host} answered 404 for ${path}: OpenAI-compatible servers serve under /v1. Set the model's baseUrl to ${this.host}/v1.`,
        );
      if (path !== '/models') {
        const offered = await this.offeredModels(signal);
        const list = offered && offered.length > 0 ? ` It offers: ${offered.join(', ')}.` : '';
        return this.client.error('model-not-found', `The OpenAI-compatible server at ${this.host} has no model "${this.model}" (404: ${err.serverMessage}).${list} Set the model's name to one it serves.`);
      }
    }
    return this.client.classify(err, signal);
  }

  /** The model ids GET /models lists, undefined when it cannot say. */
  private async offeredModels(signal: AbortSignal): Promise<string[] | undefined> {
    try {
      const answer = (await this.client.getJson(`${this.host}/models`, signal, 3000)) as { data?: { id?: unknown }[] };
      return answer.data?.flatMap((m) => (typeof m.id === 'string' ? [m.id] : []));
    } catch {
      return undefined;
    }
  }
}
