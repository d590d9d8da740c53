import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ChatMessage } from '../../../server/models/backend.js';
import { OllamaBackend } from '../../../server/models/ollama-backend.js';
import { OLLAMA_ERRORS, OllamaStub, tokenize } from '../../support/ollama-stub.js';
import { failure } from '../../support/backend-calls.js';

const BASE = 'qwen2.5-coder:1.5b-base';
const INSTRUCT = 'qwen2.5-coder:7b';
const SLOW = 'slow-coder:7b';
const EMBED = 'nomic-embed-text:latest';
const KEEP_ALIVE = '30m';

const EXPLAIN = 'This function adds two numbers and returns their sum.';
const REFACTOR = 'const add = (a: number, b: number): number => a + b;';
const LONG = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');

const MESSAGES: readonly ChatMessage[] = [
  { role: 'system', content: 'You are a careful TypeScript assistant. Answer briefly.' },
  { role: 'user', content: 'Explain:\nfunction add(a: number, b: number) { return a + b; }' },
];

let stub: OllamaStub;

beforeEach(async () => {
  stub = new OllamaStub({
    models: [
      { name: BASE, rules: [{ messageIncludes: 'Explain:', answer: EXPLAIN }], defaultAnswer: 'ok' },
      {
        name: INSTRUCT,
        capabilities: ['completion', 'tools'],
        rules: [
          { messageIncludes: 'Refactor', answer: { text: REFACTOR, tokens: ['const add', ' = (a: number, b: number)', ': number => a + b;'] } },
          { messageIncludes: 'Explain:', answer: EXPLAIN },
        ],
      },
      { name: SLOW, capabilities: ['completion'], defaultAnswer: LONG, latency: { firstTokenMs: 0, perTokenMs: 40 } },
      { name: EMBED, capabilities: ['embedding'] },
    ],
  });
  await stub.start();
});

afterEach(async () => {
  await stub.stop();
});

const backend = (model: string, host = stub.url) => new OllamaBackend({ model, host, keepAlive: KEEP_ALIVE });
const signal = () => new AbortController().signal;

describe('OllamaBackend.chat', () => {
  it('streams the answer and concatenates the assistant message', async () => {
    const answer = await backend(INSTRUCT).chat({
      messages: [{ role: 'user', content: 'Refactor this to an arrow function' }],
      maxTokens: 256,
      signal: signal(),
    });
    expect(answer.text).toBe(REFACTOR);
    expect(answer.model).toBe(INSTRUCT);
    expect(answer.doneReason).toBe('stop');
    expect(answer.firstTokenMs).toBeTypeOf('number');
    expect(answer.latencyMs).toBeTypeOf('number');
    const [record] = stub.chatRequests(INSTRUCT);
    // Streamed: three content chunks and the done line.
    expect(record?.chunksSent).toBe(4);
    expect(record?.completed).toBe(true);
    expect(record?.aborted).toBe(false);
  });

  it('sends the messages as given, with keep_alive, streaming, and only num_predict and temperature', async () => {
    const answer = await backend(BASE).chat({ messages: MESSAGES, maxTokens: 300, temperature: 0.4, signal: signal() });
    // A base (FIM) model still has the completion capability, so it can chat.
    expect(answer.text).toBe(EXPLAIN);
    const requests = stub.chatRequests(BASE);
    expect(requests).toHaveLength(1);
    const body = requests[0]!.body;
    expect(body.messages).toEqual(MESSAGES);
    expect(body.stream).toBe(true);
    expect(body.keep_alive).toBe(KEEP_ALIVE);
    expect(body.options).toEqual({ num_predict: 300, temperature: 0.4 });
    expect(body).not.toHaveProperty('think');
    expect(body).not.toHaveProperty('tools');
    expect(stub.generateRequests()).toHaveLength(0);
  });

  it('defaults the temperature to 0', async () => {
    await backend(BASE).chat({ messages: MESSAGES, maxTokens: 64, signal: signal() });
    expect(stub.chatRequests(BASE)[0]?.body.options).toEqual({ num_predict: 64, temperature: 0 });
  });

  it('stops at maxTokens and reports done_reason length', async () => {
    const answer = await backend(BASE).chat({ messages: MESSAGES, maxTokens: 5, signal: signal() });
    expect(answer.text).toBe(tokenize(EXPLAIN).slice(0, 5).join(''));
    expect(answer.doneReason).toBe('length');
  });

  it('calls onText with the growing text, ending with the whole answer', async () => {
    const seen: string[] = [];
    const answer = await backend(BASE).chat({ messages: MESSAGES, maxTokens: 256, signal: signal(), onText: (t) => seen.push(t) });
    expect(seen).toHaveLength(tokenize(EXPLAIN).length);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.length).toBeGreaterThan(seen[i - 1]!.length);
      expect(seen[i]!.startsWith(seen[i - 1]!)).toBe(true);
    }
    expect(seen.at(-1)).toBe(answer.text);
  });

  it('keeps the answer when onText throws', async () => {
    const answer = await backend(BASE).chat({
      messages: MESSAGES,
      maxTokens: 256,
      signal: signal(),
      onText: () => {
        throw new Error('listener failed');
      },
    });
    expect(answer.text).toBe(EXPLAIN);
  });

  it('closes the request when aborted mid-stream and rejects with kind aborted', async () => {
    const controller = new AbortController();
    let updates = 0;
    const pending = backend(SLOW).chat({
      messages: MESSAGES,
      maxTokens: 256,
      signal: controller.signal,
      // Abort once the answer has started to arrive: the request is certainly mid-stream.
      onText: () => {
        if (++updates === 2) controller.abort();
      },
    });
    const error = await failure(pending);
    expect(error.kind).toBe('aborted');
    await stub.waitFor((requests) => requests.some((r) => r.path === '/api/chat' && r.endedAt !== undefined));
    const [record] = stub.chatRequests(SLOW);
    expect(record?.aborted).toBe(true);
    expect(record?.completed).toBe(false);
    expect(record?.chunksSent).toBeLessThan(tokenize(LONG).length);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await failure(backend(BASE).chat({ messages: MESSAGES, maxTokens: 64, signal: controller.signal }));
    expect(error.kind).toBe('aborted');
    expect(stub.chatRequests()).toHaveLength(0);
  });
});

describe('OllamaBackend.chat failures', () => {
  it('a missing model is model-not-found with the pull command', async () => {
    const error = await failure(backend('llama3.2:3b').chat({ messages: MESSAGES, maxTokens: 64, signal: signal() }));
    expect(error.kind).toBe('model-not-found');
    expect(error.message).toContain('ollama pull llama3.2:3b');
    expect(error.model).toBe('llama3.2:3b');
    expect(error.host).toBe(stub.url);
  });

  it('a 500 is a server error', async () => {
    stub.model(BASE)!.fault = 'server-error';
    const error = await failure(backend(BASE).chat({ messages: MESSAGES, maxTokens: 64, signal: signal() }));
    expect(error.kind).toBe('server');
    expect(error.message).toContain(OLLAMA_ERRORS.runnerTerminated);
  });

  it('an error line in the middle of the stream is a server error', async () => {
    stub.model(BASE)!.fault = 'mid-stream-error';
    const seen: string[] = [];
    const error = await failure(backend(BASE).chat({ messages: MESSAGES, maxTokens: 64, signal: signal(), onText: (t) => seen.push(t) }));
    expect(error.kind).toBe('server');
    expect(error.message).toContain(OLLAMA_ERRORS.midStream);
    // The answer had started before it failed.
    expect(seen.length).toBeGreaterThan(0);
  });

  it('a full queue is busy', async () => {
    stub.model(BASE)!.fault = 'queue-full';
    const error = await failure(backend(BASE).chat({ messages: MESSAGES, maxTokens: 64, signal: signal() }));
    expect(error.kind).toBe('busy');
  });

  it('nothing listening is unreachable, with how to start Ollama', async () => {
    const url = stub.url;
    await stub.goDown();
    const error = await failure(backend(BASE, url).chat({ messages: MESSAGES, maxTokens: 64, signal: signal() }));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain('ollama serve');
  });

  it('a model without the completion capability is bad-request, suggesting an instruct model', async () => {
    const error = await failure(backend(EMBED).chat({ messages: MESSAGES, maxTokens: 64, signal: signal() }));
    expect(error.kind).toBe('bad-request');
    expect(error.message).toContain('cannot chat');
    expect(error.message).toContain(OLLAMA_ERRORS.noCompletion(EMBED, 'chat'));
    expect(error.message).toContain('qwen2.5-coder:7b');
    expect(stub.chatRequests(EMBED)[0]?.status).toBe(400);
  });

  it('the older wording "does not support generate" gets the same advice', async () => {
    // A server that answers /api/chat the way older Ollama versions did for a model without completion.
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: OLLAMA_ERRORS.noCompletion(EMBED, 'generate') }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const error = await failure(backend(EMBED, host).chat({ messages: MESSAGES, maxTokens: 64, signal: signal() }));
      expect(error.kind).toBe('bad-request');
      expect(error.message).toContain('cannot chat');
      expect(error.message).toContain('qwen2.5-coder:7b');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
