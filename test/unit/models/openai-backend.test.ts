// The OpenAI and llama.cpp backends on faults the real llama-server cannot give (OpenAI's logprob shape, model
// names that matter, a key unset) and against the Ollama stand-in or nothing at all (wrong provider, wrong URL).
// Everything else runs against the real llama-server in test/llama/.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FimRequest } from '../../../server/models/backend.js';
import { templateFor } from '../../../server/models/fim-templates.js';
import { LlamaCppBackend } from '../../../server/models/llama-cpp-backend.js';
import { OpenAIBackend } from '../../../server/models/openai-backend.js';
import { freePort } from '../../support/llama.js';
import { OllamaStub } from '../../support/ollama-stub.js';
import { OpenAIStub } from '../../support/openai-stub.js';
import { failure } from '../../support/backend-calls.js';

const MODEL = 'qwen2.5-coder-1.5b';
const KEY = 'sk-test-0123456789';
const TOKENS = ['return', ' a', ' +', ' b;'];
const LOGPROBS = [-0.5, -1.25, -0.25, -2];

let stub: OpenAIStub;

beforeEach(async () => {
  stub = new OpenAIStub({ models: [MODEL, 'other-model'], apiKey: KEY, answer: { tokens: TOKENS, logprobs: LOGPROBS } });
  await stub.start();
});

afterEach(async () => {
  await stub.stop();
});

const fim = (overrides: Partial<FimRequest> = {}): FimRequest => ({
  prefix: 'function add(a, b) {\n  ',
  suffix: '\n}\n',
  maxTokens: 16,
  signal: new AbortController().signal,
  ...overrides,
});

const backend = (options: Partial<ConstructorParameters<typeof OpenAIBackend>[0]> = {}) =>
  new OpenAIBackend({ model: MODEL, baseUrl: stub.baseUrl, apiKeyEnv: 'XENCODE_TEST_KEY', env: { XENCODE_TEST_KEY: KEY }, ...options });

describe('OpenAIBackend', () => {
  it("fills the family's template into the prompt, sends the key, and reads OpenAI's logprob shape", async () => {
    const answer = await backend().complete(fim({ logprobs: true, seed: 3 }));
    expect(answer.text).toBe(TOKENS.join(''));
    expect(answer.meanLogprob).toBeCloseTo(LOGPROBS.reduce((a, b) => a + b) / LOGPROBS.length, 10);
    expect(answer.doneReason).toBe('stop');
    const sent = stub.requests.find((r) => r.path === '/v1/completions')!;
    expect(sent.authorization).toBe(`Bearer ${KEY}`);
    const body = sent.body as { prompt: string; model: string; stream: boolean; seed: number; stop: string[]; logprobs: number };
    expect(body.prompt).toBe(templateFor(MODEL)!.build(fim().prefix, fim().suffix));
    expect(answer.prompt).toBe(body.prompt);
    expect(body).toMatchObject({ model: MODEL, stream: true, seed: 3, logprobs: 1 });
    expect(body.stop.every((s) => answer.stopTokens.includes(s))).toBe(true);
  });

  it('chats, streaming', async () => {
    const seen: string[] = [];
    const answer = await backend().chat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 8, signal: new AbortController().signal, onText: (t) => seen.push(t) });
    expect(answer.text).toBe(TOKENS.join(''));
    expect(seen).toHaveLength(TOKENS.length);
  });

  it('says which variable to set when it is unset, before sending anything', async () => {
    const error = await failure(backend({ env: {} }).complete(fim()));
    expect(error.kind).toBe('unauthorized');
    expect(error.message).toContain('set XENCODE_TEST_KEY (named by xencode.models[].apiKeyEnv) in the environment the editor starts Xencode in');
    expect((await failure(backend({ env: { XENCODE_TEST_KEY: '' } }).chat({ messages: [], maxTokens: 1, signal: new AbortController().signal }))).kind).toBe('unauthorized');
    expect(stub.requests).toHaveLength(0);
  });

  it('says the model is not there, listing the ones the server offers', async () => {
    const error = await failure(backend({ model: 'qwen2.5-coder-7b-missing' }).complete(fim()));
    expect(error.kind).toBe('model-not-found');
    expect(error.message).toContain(`It offers: ${MODEL}, other-model.`);
  });

  it('says to set fimTemplate when the model name names no family, and uses the family named there', async () => {
    const error = await failure(backend({ model: 'other-model' }).complete(fim()));
    expect(error.kind).toBe('no-insert');
    expect(error.message).toMatch(/set "fimTemplate".*qwen2\.5-coder, starcoder2/);
    expect(stub.requests).toHaveLength(0);
    const answer = await backend({ model: 'other-model', fimTemplate: 'starcoder2' }).complete(fim());
    expect(answer.prompt).toBe(templateFor('starcoder2')!.build(fim().prefix, fim().suffix));
    expect((await failure(backend({ model: 'other-model', fimTemplate: 'gpt' }).complete(fim()))).message).toContain('"fimTemplate": "gpt"');
  });

  it('suggests the /v1 URL when given a root URL that answers 404 (here: an Ollama server)', async () => {
    const ollama = new OllamaStub({ models: [{ name: 'qwen2.5-coder:1.5b-base' }] });
    const root = await ollama.start();
    try {
      const error = await failure(backend({ baseUrl: root }).complete(fim()));
      expect(error.kind).toBe('bad-request');
      expect(error.message).toContain(`Set the model's baseUrl to ${root}/v1.`);
    } finally {
      await ollama.stop();
    }
  });

  it('probes with GET /models and fails it the way a request would', async () => {
    await expect(backend().probe(new AbortController().signal)).resolves.toBeUndefined();
    expect((await failure(backend({ apiKeyEnv: undefined }).probe(new AbortController().signal))).kind).toBe('unauthorized');
  });
});

describe('wrong provider and wrong URL', () => {
  it('tells a llama.cpp backend pointed at Ollama to set provider ollama', async () => {
    const ollama = new OllamaStub({ models: [{ name: 'qwen2.5-coder:1.5b-base' }] });
    const root = await ollama.start();
    try {
      const llama = new LlamaCppBackend({ model: 'qwen2.5-coder:1.5b-base', host: root });
      for (const call of [() => llama.complete(fim()), () => llama.probe(new AbortController().signal), () => llama.warm()]) {
        const error = await failure(call());
        expect(error.kind).toBe('wrong-provider');
        expect(error.message).toContain('is an Ollama server');
        expect(error.message).toContain('"provider": "ollama"');
      }
    } finally {
      await ollama.stop();
    }
  });

  it("says 'unreachable' naming the provider and how to start it", async () => {
    const port = await freePort();
    const llama = await failure(new LlamaCppBackend({ model: MODEL, host: `http://127.0.0.1:${port}` }).complete(fim()));
    expect(llama.kind).toBe('unreachable');
    expect(llama.message).toContain(`Cannot reach llama-server at http://127.0.0.1:${port}`);
    expect(llama.message).toContain(`llama-server -m MODEL.gguf --host 127.0.0.1 --port ${port}`);
    const openai = await failure(backend({ baseUrl: `http://127.0.0.1:${port}/v1` }).chat({ messages: [], maxTokens: 1, signal: new AbortController().signal }));
    expect(openai.kind).toBe('unreachable');
    expect(openai.message).toContain(`Cannot reach the OpenAI-compatible server at http://127.0.0.1:${port}/v1`);
  });
});
