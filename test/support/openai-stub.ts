/**
 * A stand-in for an OpenAI-compatible server: a real HTTP server on 127.0.0.1 speaking /v1/models,
 * /v1/completions and /v1/chat/completions (SSE, `data: [DONE]`), only for what the real llama-server cannot
 * give: OpenAI's own logprob shape (`token_logprobs`), model names that matter (404 model_not_found), and a key
 * checked the way OpenAI words it. Everything else is tested against the real llama-server.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OpenAIStubAnswer {
  /** Streamed one token per event. */
  readonly tokens: readonly string[];
  /** Per-token logprobs, sent in OpenAI's shape when the request asks `logprobs`. */
  readonly logprobs?: readonly number[];
}

export interface OpenAIStubOptions {
  /** Models served; a request for another is answered 404 model_not_found. */
  readonly models: readonly string[];
  /** When set, requests need `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  readonly answer: OpenAIStubAnswer;
}

export interface OpenAIStubRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly body: unknown;
  /** The connection closed before the answer was complete. */
  aborted: boolean;
  completed: boolean;
}

export class OpenAIStub {
  readonly requests: OpenAIStubRequest[] = [];
  private server: http.Server | undefined;
  private root = '';

  constructor(readonly options: OpenAIStubOptions) {}

  /** The root URL (http://127.0.0.1:PORT); the API is under `${root}/v1`. */
  get url(): string {
    return this.root;
  }

  get baseUrl(): string {
    return `${this.root}/v1`;
  }

  async start(): Promise<string> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.root;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const record: OpenAIStubRequest = { method: req.method ?? 'GET', path, authorization: req.headers.authorization, body, aborted: false, completed: false };
    this.requests.push(record);
    res.on('close', () => (record.aborted = !record.completed));
    const json = (status: number, payload: unknown) => {
      record.completed = status < 300;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const { apiKey, models } = this.options;
    if (apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`)
      return json(401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
    if (req.method === 'GET' && path === '/v1/models') return json(200, { object: 'list', data: models.map((id) => ({ id, object: 'model', owned_by: 'stub' })) });
    if (req.method !== 'POST' || (path !== '/v1/completions' && path !== '/v1/chat/completions')) return json(404, { error: { message: `Unknown path ${path}`, type: 'invalid_request_error' } });
    const request = body as { model?: string; logprobs?: number | boolean };
    if (!request?.model || !models.includes(request.model))
      return json(404, { error: { message: `The model \`${request?.model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', code: 'model_not_found' } });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const { tokens, logprobs } = this.options.answer;
    const chat = path === '/v1/chat/completions';
    tokens.forEach((token, i) => {
      const choice = chat
        ? { index: 0, delta: { content: token }, finish_reason: null }
        : {
            index: 0,
            text: token,
            finish_reason: null,
            logprobs: request.logprobs ? { tokens: [token], token_logprobs: [logprobs?.[i] ?? -0.1], top_logprobs: [{ [token]: logprobs?.[i] ?? -0.1 }], text_offset: [0] } : null,
          };
      res.write(`data: ${JSON.stringify({ id: 'stub', object: chat ? 'chat.completion.chunk' : 'text_completion', model: request.model, choices: [choice] })}\n\n`);
    });
    const last = chat ? { index: 0, delta: {}, finish_reason: 'stop' } : { index: 0, text: '', finish_reason: 'stop', logprobs: null };
    res.write(`data: ${JSON.stringify({ id: 'stub', model: request.model, choices: [last] })}\n\n`);
    record.completed = true;
    res.end('data: [DONE]\n\n');
  }
}
