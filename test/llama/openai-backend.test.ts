// The OpenAI-compatible backend against the REAL llama-server's /v1 API (tiny generated models: the text is
// gibberish; asserted is the behaviour: streaming, determinism, logprobs in llama-server's shape, cancelling,
// the API key, a server still loading).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, type FimRequest } from '../../server/models/backend.js';
import { templateFor } from '../../server/models/fim-templates.js';
import { OpenAIBackend, type OpenAIBackendOptions } from '../../server/models/openai-backend.js';
import { slotsBusy, startLlamaServer, tinyModel, type RunningLlamaServer } from '../support/llama.js';
import { failure, abortOnFirstBytes } from '../support/backend-calls.js';

const MODEL = 'qwen2.5-coder-tiny';
const PREFIX = 'def add(a, b):\n    ';
const SUFFIX = '\n\nprint(add(1, 2))\n';
const KEY = 'sk-local-test-key-42';

let server: RunningLlamaServer;
const running: RunningLlamaServer[] = [];
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'xencode-openai-'));
  server = await startLlamaServer({ model: tinyModel(2), slots: 2, args: ['-c', '4096'] });
  running.push(server);
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  rmSync(scratch, { recursive: true, force: true });
});

const backend = (options: Partial<OpenAIBackendOptions> = {}) => new OpenAIBackend({ model: MODEL, baseUrl: `${server.host}/v1`, env: {}, ...options });

const fim = (overrides: Partial<FimRequest> = {}): FimRequest => ({
  prefix: PREFIX,
  suffix: SUFFIX,
  maxTokens: 16,
  signal: new AbortController().signal,
  ...overrides,
});

async function until(condition: () => Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('fill in the middle through /v1/completions', () => {
  it("streams an answer to the family's template", async () => {
    const answer = await backend().complete(fim({ maxTokens: 24 }));
    expect(answer.text.length).toBeGreaterThan(0);
    expect(answer.firstTokenMs).toBeDefined();
    expect(answer.firstTokenMs!).toBeLessThanOrEqual(answer.latencyMs);
    expect(answer.prompt).toBe(templateFor(MODEL)!.build(PREFIX, SUFFIX));
    expect(['length', 'stop']).toContain(answer.doneReason);
  });

  it('gives the same answer for the same seed, at temperature 0.8', async () => {
    const first = await backend().complete(fim({ temperature: 0.8, seed: 11, maxTokens: 32 }));
    const second = await backend().complete(fim({ temperature: 0.8, seed: 11, maxTokens: 32 }));
    expect(second.text).toBe(first.text);
  });

  it("reads llama-server's own logprob shape", async () => {
    const answer = await backend().complete(fim({ logprobs: true, maxTokens: 8 }));
    expect(Number.isFinite(answer.meanLogprob)).toBe(true);
    expect(answer.meanLogprob!).toBeLessThan(0);
  });

  it('stops the slot when the caller aborts mid-stream', async () => {
    const controller = new AbortController();
    // The caller aborts as soon as the first streamed bytes arrive.
    const firstBytes = abortOnFirstBytes(controller, '/completions');
    const before = server.log().split('cancel task').length;
    const error = await failure(backend({ fetch: firstBytes }).complete(fim({ maxTokens: 1900, signal: controller.signal })));
    expect(error.kind).toBe('aborted');
    await until(async () => server.log().split('cancel task').length > before, 'the server to cancel the task', 5000);
    await until(async () => (await slotsBusy(server.host)).every((busy) => !busy), 'the slot to be idle again', 5000);
  });

  it('works with a fimTemplate for a model name that says no family', async () => {
    expect((await failure(backend({ model: 'local-model' }).complete(fim()))).kind).toBe('no-insert');
    const answer = await backend({ model: 'local-model', fimTemplate: 'qwen2.5-coder' }).complete(fim());
    expect(answer.prompt).toContain('<|fim_middle|>');
    expect(answer.text.length).toBeGreaterThan(0);
  });
});

describe('chat through /v1/chat/completions', () => {
  it('streams the answer', async () => {
    const seen: string[] = [];
    const answer = await backend().chat({ messages: [{ role: 'user', content: 'Explain add' }], maxTokens: 12, signal: new AbortController().signal, onText: (t) => seen.push(t) });
    expect(answer.text.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(answer.text);
    expect(answer.doneReason).toBe('length');
  });

  it('probes with GET /v1/models', async () => {
    await expect(backend().probe(new AbortController().signal)).resolves.toBeUndefined();
  });
});

describe('a server that wants an API key (llama-server --api-key)', () => {
  let keyed: RunningLlamaServer;
  beforeAll(async () => {
    keyed = await startLlamaServer({ model: tinyModel(1), args: ['--api-key', KEY] });
    running.push(keyed);
  });
  const at = (options: Partial<OpenAIBackendOptions>) => backend({ baseUrl: `${keyed.host}/v1`, ...options });

  it('answers with the key from the named variable', async () => {
    const answer = await at({ apiKeyEnv: 'LOCAL_LLM_KEY', env: { LOCAL_LLM_KEY: KEY } }).complete(fim());
    expect(answer.text.length).toBeGreaterThan(0);
  });

  it('names the variable to set when the key is wrong, and never says the key', async () => {
    const error = await failure(at({ apiKeyEnv: 'LOCAL_LLM_KEY', env: { LOCAL_LLM_KEY: 'sk-wrong-key' } }).complete(fim()));
    expect(error.kind).toBe('unauthorized');
    expect(error.message).toContain('refused the API key in LOCAL_LLM_KEY (401: Invalid API Key)');
    expect(error.message).not.toContain('sk-wrong-key');
  });

  it('says to name a variable in apiKeyEnv when none is named', async () => {
    const error = await failure(at({}).chat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 4, signal: new AbortController().signal }));
    expect(error.kind).toBe('unauthorized');
    expect(error.message).toContain('xencode.models[].apiKeyEnv');
  });
});

describe('a server still loading its model', () => {
  it("says 'loading', not a failure", async () => {
    // A model path that is a FIFO nobody writes: llama-server listens, and stays at "Loading model".
    const fifo = join(scratch, 'loading.gguf');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const loading = await startLlamaServer({ model: fifo, wait: false });
    running.push(loading);
    const target = backend({ baseUrl: `${loading.host}/v1` });
    await until(async () => {
      try {
        await target.probe(new AbortController().signal);
        return false;
      } catch (err) {
        return (err as BackendError).kind === 'loading';
      }
    }, "the probe to say 'loading'");
    const error = await failure(target.complete(fim()));
    expect(error.kind).toBe('loading');
    expect(error.message).toBe(`The OpenAI-compatible server at ${loading.host}/v1 is still loading the model; completions start once it is ready.`);
  });
});
