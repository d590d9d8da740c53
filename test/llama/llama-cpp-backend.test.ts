// The llama.cpp backend against the REAL llama-server (Debian's llama.cpp, tiny generated models: the text is
// gibberish; what is asserted is the engine's behaviour: streaming, cancelling, slots, logprobs, context, faults).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FimRequest } from '../../server/models/backend.js';
import { LlamaCppBackend } from '../../server/models/llama-cpp-backend.js';
import { OllamaBackend } from '../../server/models/ollama-backend.js';
import { TINY_GGUF_SCRIPT, slotsBusy, startLlamaServer, tinyModel, type RunningLlamaServer } from '../support/llama.js';
import { failure, abortOnFirstBytes } from '../support/backend-calls.js';

const MODEL = 'tiny-qwen2.5-coder';
const PREFIX = 'def add(a, b):\n    ';
const SUFFIX = '\n\nprint(add(1, 2))\n';

let server: RunningLlamaServer;
const running: RunningLlamaServer[] = [];
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'xencode-llama-'));
  // Two slots (of the model's 2048 tokens each).
  server = await startLlamaServer({ model: tinyModel(1), slots: 2, args: ['-c', '4096'] });
  running.push(server);
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  rmSync(scratch, { recursive: true, force: true });
});

async function start(...args: Parameters<typeof startLlamaServer>): Promise<RunningLlamaServer> {
  const started = await startLlamaServer(...args);
  running.push(started);
  return started;
}

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

describe('fill in the middle through /infill', () => {
  it('streams an answer, reads the slot count from /props, and reports what the server rendered', async () => {
    const backend = new LlamaCppBackend({ model: MODEL, host: server.host });
    expect(backend.serverSlots).toBeUndefined();
    const answer = await backend.complete(fim({ maxTokens: 24 }));
    expect(answer.text.length).toBeGreaterThan(0);
    expect(answer.firstTokenMs).toBeDefined();
    expect(answer.firstTokenMs!).toBeLessThanOrEqual(answer.latencyMs);
    expect(answer.stopTokens).toContain('<|fim_middle|>');
    expect(['length', 'stop']).toContain(answer.doneReason);
    // The server's own rendering: its FIM tokens around what was sent.
    expect(answer.prompt).toMatch(/<\|fim_prefix\|>.*def add\(a, b\):[^]*<\|fim_suffix\|>[^]*print\(add\(1, 2\)\)[^]*<\|fim_middle\|>$/);
    expect(backend.serverSlots).toBe(2);
  });

  it('gives the same answer for the same seed, at temperature 0.8', async () => {
    const backend = new LlamaCppBackend({ model: MODEL, host: server.host });
    const first = await backend.complete(fim({ temperature: 0.8, seed: 7, maxTokens: 32 }));
    const second = await backend.complete(fim({ temperature: 0.8, seed: 7, maxTokens: 32 }));
    expect(second.text).toBe(first.text);
    expect(first.text.length).toBeGreaterThan(0);
  });

  it('sends the header lines as input_extra: the server renders them before the FIM prefix, once', async () => {
    const backend = new LlamaCppBackend({ model: MODEL, host: server.host });
    const header = 'import numpy_special_module\n';
    const answer = await backend.complete(fim({ prefix: header + PREFIX, header, filename: 'src/add.py' }));
    const rendered = answer.prompt!;
    expect(rendered.split('import numpy_special_module').length - 1).toBe(1);
    expect(rendered.indexOf('import numpy_special_module')).toBeLessThan(rendered.indexOf('<|fim_prefix|>'));
    // Without a header the same text is part of the prefix, after the FIM prefix token.
    const plain = await backend.complete(fim({ prefix: header + PREFIX }));
    expect(plain.prompt!.indexOf('import numpy_special_module')).toBeGreaterThan(plain.prompt!.indexOf('<|fim_prefix|>'));
  });

  it('returns a mean log-probability when asked', async () => {
    const backend = new LlamaCppBackend({ model: MODEL, host: server.host });
    const answer = await backend.complete(fim({ logprobs: true, maxTokens: 8 }));
    expect(Number.isFinite(answer.meanLogprob)).toBe(true);
    expect(answer.meanLogprob!).toBeLessThan(0);
    expect((await backend.complete(fim({ maxTokens: 8 }))).meanLogprob).toBeUndefined();
  });

  it('stops the slot when the caller aborts mid-stream', async () => {
    const controller = new AbortController();
    // The caller aborts as soon as the first streamed bytes arrive: the server is mid-generation then (greedy, the
    // tiny model runs on for a thousand tokens before its end-of-text).
    const firstBytes = abortOnFirstBytes(controller, '/infill');
    const backend = new LlamaCppBackend({ model: MODEL, host: server.host, fetch: firstBytes });
    const before = server.log().split('cancel task').length;
    const error = await failure(backend.complete(fim({ maxTokens: 1900, signal: controller.signal })));
    expect(error.kind).toBe('aborted');
    await until(async () => server.log().split('cancel task').length > before, 'the server to cancel the task', 5000);
    await until(async () => (await slotsBusy(server.host)).every((busy) => !busy), 'the slot to be idle again', 5000);
  });
});

describe('chat through /v1/chat/completions', () => {
  it('streams the answer and reports progress', async () => {
    const backend = new LlamaCppBackend({ model: MODEL, host: server.host });
    const seen: string[] = [];
    const answer = await backend.chat({
      messages: [{ role: 'user', content: 'Explain add' }],
      maxTokens: 12,
      signal: new AbortController().signal,
      onText: (text) => seen.push(text),
    });
    expect(answer.text.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(answer.text);
    expect(answer.firstTokenMs).toBeDefined();
    expect(answer.doneReason).toBe('length');
  });
});

describe('a small slot context', () => {
  it('cuts a huge prefix at line boundaries so that the request fits, where the same text sent as is fails', async () => {
    const small = await start({ model: tinyModel(1), args: ['-c', '256'] });
    const prefix = Array.from({ length: 600 }, (_, i) => `line_${i} = ${i}\n`).join('');
    const raw = await fetch(`${small.host}/infill`, { method: 'POST', body: JSON.stringify({ input_prefix: prefix, input_suffix: SUFFIX, n_predict: 8 }) });
    expect(raw.status).toBe(400);
    await raw.body?.cancel();

    const backend = new LlamaCppBackend({ model: MODEL, host: small.host });
    const answer = await backend.complete(fim({ prefix, maxTokens: 8 }));
    expect(answer.text.length).toBeGreaterThan(0);
    // The end of the prefix (nearest the cursor) is kept, whole lines from its start are not.
    expect(answer.prompt).toContain('line_599 = 599\n');
    expect(answer.prompt).not.toContain('line_0 = 0\n');
    expect(answer.prompt).toMatch(/<\|fim_prefix\|> ?line_\d+ = \d+\n/);
  });

  it('keeps the header in the prefix once the server has dropped input_extra (n_batch above the slot context)', async () => {
    const small = await start({ model: tinyModel(1), args: ['-c', '256'] });
    const backend = new LlamaCppBackend({ model: MODEL, host: small.host });
    const header = 'import numpy_special_module\n';
    const request = fim({ prefix: header + PREFIX, header, maxTokens: 4 });
    const first = await backend.complete(request);
    expect(first.prompt).not.toContain('numpy_special_module');
    const second = await backend.complete(request);
    expect(second.prompt!.indexOf('import numpy_special_module')).toBeGreaterThan(second.prompt!.indexOf('<|fim_prefix|>'));
  });
});

describe('faults', () => {
  it("says 'loading' while the server loads its model, and warm() waits for it within its bound", async () => {
    // A model path that is a FIFO nobody writes: llama-server listens, and stays at "Loading model".
    const fifo = join(scratch, 'loading.gguf');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const loading = await start({ model: fifo, wait: false });
    await until(async () => {
      try {
        const res = await fetch(`${loading.host}/health`);
        await res.body?.cancel();
        return res.status === 503;
      } catch {
        return false;
      }
    }, '/health 503');
    const backend = new LlamaCppBackend({ model: MODEL, host: loading.host, loadingWaitMs: 600 });
    const error = await failure(backend.complete(fim()));
    expect(error.kind).toBe('loading');
    expect(error.message).toBe(`llama-server at ${loading.host} is still loading the model; completions start once it is ready.`);
    expect((await failure(backend.probe(new AbortController().signal))).kind).toBe('loading');
    expect((await failure(backend.warm())).kind).toBe('loading');
    expect(backend.serverSlots).toBeUndefined();
  });

  it("says 'no-insert' for a model without FIM tokens", async () => {
    // The tiny model with its FIM tokens renamed (same length, so the GGUF stays valid): llama-server finds none.
    const file = join(scratch, 'no-fim.gguf');
    const res = spawnSync(process.execPath, [TINY_GGUF_SCRIPT, file, '--no-fim', '--seed', '1'], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    const bytes = readFileSync(file);
    const from = Buffer.from('<|fim_');
    for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + 1)) bytes.write('<|xim_', at);
    writeFileSync(file, bytes);
    const noFim = await start({ model: file });
    const error = await failure(new LlamaCppBackend({ model: MODEL, host: noFim.host }).complete(fim()));
    expect(error.kind).toBe('no-insert');
    expect(error.message).toMatch(/cannot fill in the middle/);
    expect(error.message).toMatch(/fimTemplate/);
  });

  it('tells an Ollama backend pointed at llama-server to set provider llama.cpp', async () => {
    const backend = new OllamaBackend({ model: 'qwen2.5-coder:1.5b-base', host: server.host, keepAlive: '5m' });
    const error = await failure(backend.complete(fim()));
    expect(error.kind).toBe('wrong-provider');
    expect(error.message).toContain('"provider": "llama.cpp"');
    expect((await failure(backend.probe(new AbortController().signal))).kind).toBe('wrong-provider');
  });

  it('probes with /health', async () => {
    await expect(new LlamaCppBackend({ model: MODEL, host: server.host }).probe(new AbortController().signal)).resolves.toBeUndefined();
  });
});
