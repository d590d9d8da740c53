import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FimRequest } from '../../../server/models/backend.js';
import { OllamaBackend } from '../../../server/models/ollama-backend.js';
import { OllamaStub, type StubFault } from '../../support/ollama-stub.js';
import { failure } from '../../support/backend-calls.js';

const MODEL = 'qwen2.5-coder:1.5b-base';
const ANSWER = 'return a + b;';
const CALLS = 20;
/** Between two calls, as between keystrokes after the debounce: longer than the stand-in takes to end a body. */
const PAUSE_MS = 15;

let stub: OllamaStub;

beforeEach(async () => {
  // The end of each streamed body comes after its done line, in a write of its own, as Ollama sends it.
  stub = new OllamaStub({ endApartMs: 0, models: [{ name: MODEL, defaultAnswer: ANSWER }] });
  await stub.start();
});

afterEach(async () => {
  await stub.stop();
});

const backend = (host = stub.url) => new OllamaBackend({ model: MODEL, host, keepAlive: '30m' });
const fim = (signal: AbortSignal): FimRequest => ({ prefix: 'function add(a, b) {\n  ', suffix: '\n}\n', maxTokens: 32, signal });
const chat = (signal: AbortSignal) => ({ messages: [{ role: 'user' as const, content: 'Explain add' }], maxTokens: 32, signal });

/** Which connection carried each request, for failure messages. */
const carriers = () => stub.requests.map((r) => `${r.path}@${r.connection}`).join(' ');
const pause = () => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));

describe('connections', () => {
  it('sequential completions reuse their connection, even when the caller aborts its signal after each answer', async () => {
    const model = backend();
    for (let i = 0; i < CALLS; i++) {
      // The ensemble aborts every call's signal once it has decided, i.e. right after the answer arrived.
      const controller = new AbortController();
      const answer = await model.complete(fim(controller.signal));
      controller.abort();
      expect(answer.text).toBe(ANSWER);
      await pause();
    }
    // /api/show and every completion on one connection (a second one at most, should the machine stall past the
    // pause). Closing each answer at its done line, before its body had ended, cost one connection per call.
    expect(stub.connectionsOpened, carriers()).toBeLessThanOrEqual(2);
    expect(stub.generateRequests(MODEL).every((r) => r.completed && !r.aborted)).toBe(true);
  });

  it('sequential chats reuse their connection too', async () => {
    const model = backend();
    for (let i = 0; i < CALLS; i++) {
      const controller = new AbortController();
      await model.chat(chat(controller.signal));
      controller.abort();
      await pause();
    }
    expect(stub.connectionsOpened, carriers()).toBeLessThanOrEqual(2);
  });

  it('an answer aborted mid-stream still closes its connection, so the server stops generating', async () => {
    stub.model(MODEL)!.latency = { firstTokenMs: 0, perTokenMs: 30 };
    const controller = new AbortController();
    const pending = backend().complete(fim(controller.signal));
    await stub.waitFor((requests) => requests.some((r) => r.path === '/api/generate' && r.chunksSent > 0));
    controller.abort();
    expect((await failure(pending)).kind).toBe('aborted');
    await stub.waitFor((requests) => requests.some((r) => r.path === '/api/generate' && r.aborted));
    expect(stub.generateRequests(MODEL)[0]!.completed).toBe(false);
  });
});

describe('a connection that breaks', () => {
  it.each([
    ['reset-mid-stream', 'ECONNRESET'],
    ['close-mid-stream', 'UND_ERR_SOCKET'],
  ] as const)('%s: says Ollama closed the connection in the middle of an answer, not that it cannot be reached', async (fault: StubFault, code) => {
    stub.model(MODEL)!.fault = fault;
    const model = backend();
    for (const error of [await failure(model.complete(fim(new AbortController().signal))), await failure(model.chat(chat(new AbortController().signal)))]) {
      expect(error.kind).toBe('server');
      expect(error.message).toContain(`Ollama at ${stub.url} closed the connection in the middle of an answer from ${MODEL}`);
      expect(error.message).toContain(code);
      expect(error.message).toContain('see the log of `ollama serve`');
      expect(error.message).not.toContain('Cannot reach');
      expect(error.message).not.toContain('Start it with');
    }
    // The answers had started: the connection broke in the middle of them.
    expect(stub.generateRequests(MODEL)[0]!.chunksSent).toBeGreaterThan(0);
    stub.model(MODEL)!.fault = undefined;
    expect((await model.complete(fim(new AbortController().signal))).text).toBe(ANSWER);
  });

  it('closed before any byte: asks once more on a new connection, then says Ollama closed it before answering', async () => {
    stub.model(MODEL)!.fault = 'close-before-answer';
    const error = await failure(backend().complete(fim(new AbortController().signal)));
    expect(error.kind).toBe('server');
    expect(error.message).toContain(`closed the connection before answering ${MODEL} (UND_ERR_SOCKET: other side closed)`);
    expect(error.message).not.toContain('Start it with');
    expect(stub.generateRequests(MODEL)).toHaveLength(2);
  });

  it('an idle kept-alive connection that the server closed costs nothing: the request goes out on a new one', async () => {
    const model = backend();
    await model.complete(fim(new AbortController().signal));
    // Ollama restarts between two keystrokes: the pooled connection is dead when the next request takes it.
    await stub.goDown();
    await stub.comeBack();
    expect((await model.complete(fim(new AbortController().signal))).text).toBe(ANSWER);
  });

  it('nothing listening is unreachable, with how to start Ollama', async () => {
    const model = backend();
    await model.complete(fim(new AbortController().signal));
    await stub.goDown();
    const error = await failure(model.complete(fim(new AbortController().signal)));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain(`Cannot reach Ollama at ${stub.url} (ECONNREFUSED)`);
    expect(error.message).toContain('Start it with `ollama serve`');
  });

  it('a host that does not exist is unreachable, with the setting to check', async () => {
    // .invalid never resolves (RFC 2606).
    const error = await failure(backend('http://no-such-host.invalid:11434').complete(fim(new AbortController().signal)));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toMatch(/\((ENOTFOUND|EAI_AGAIN)/);
    expect(error.message).toContain('no such host');
    expect(error.message).toContain('xencode.ollama.host');
  });
});
