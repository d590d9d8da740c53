import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendError, type BackendEnvironment, type ChatRequest, type FimRequest } from '../../../server/models/backend.js';
import { silentLogger } from '../../../server/log.js';
import { OllamaBackend } from '../../../server/models/ollama-backend.js';
import { ReplicaBackend } from '../../../server/models/replica-backend.js';
import { OllamaStub, type StubModel } from '../../support/ollama-stub.js';
import { failure } from '../../support/backend-calls.js';

const MODEL = 'qwen2.5-coder:1.5b-base';
const ANSWER = 'return a + b;';
const MAX_TOKENS = 32;
const PROBE_MS = 40;

interface Message {
  readonly severity: 'info' | 'warn';
  readonly message: string;
}

let stubs: OllamaStub[] = [];
let replicas: ReplicaBackend | undefined;
let messages: Message[] = [];

afterEach(async () => {
  await replicas?.close();
  await Promise.all(stubs.map((s) => s.stop()));
  stubs = [];
  replicas = undefined;
  messages = [];
});

const environment = (): BackendEnvironment => ({ logger: silentLogger, notify: (severity, message) => messages.push({ severity, message }), env: {} });
const model = (overrides: Partial<StubModel> = {}): StubModel => ({ name: MODEL, defaultAnswer: ANSWER, ...overrides });
const ollama = (stub: OllamaStub) => new OllamaBackend({ model: MODEL, host: stub.url, keepAlive: '30m' });

/** Starts `count` stand-ins and a ReplicaBackend over them (one real OllamaBackend each, or what `backendFor` makes). */
async function start(count: number, backendFor: (stub: OllamaStub) => OllamaBackend = ollama, stubModel = model): Promise<ReplicaBackend> {
  for (let i = 0; i < count; i++) {
    const stub = new OllamaStub({ models: [stubModel()] });
    await stub.start();
    stubs.push(stub);
  }
  replicas = new ReplicaBackend(stubs.map(backendFor), { environment: environment(), probeIntervalMs: PROBE_MS });
  return replicas;
}

const fim = (signal = new AbortController().signal): FimRequest => ({ prefix: 'function add(a, b) {\n  ', suffix: '\n}\n', maxTokens: MAX_TOKENS, signal });
const chat = (signal = new AbortController().signal): ChatRequest => ({ messages: [{ role: 'user', content: 'Explain add' }], maxTokens: MAX_TOKENS, signal });

/** Completions and chats a stand-in answered for callers (a probe asks for one token). */
const served = (stub: OllamaStub) => stub.requests.filter((r) => (r.path === '/api/generate' || r.path === '/api/chat') && r.body?.options?.num_predict === MAX_TOKENS).length;
/** Probes a stand-in got: one-token completions, or the backend's own probe (Ollama's /api/version). */
const probes = (stub: OllamaStub) => stub.requests.filter((r) => r.path === '/api/version' || (r.path === '/api/generate' && r.body?.options?.num_predict === 1)).length;
const warnings = () => messages.filter((m) => m.severity === 'warn');
const infos = () => messages.filter((m) => m.severity === 'info');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('choosing a replica', () => {
  it('spreads concurrent requests evenly over equal replicas', async () => {
    const backend = await start(3, ollama, () => model({ latency: { firstTokenMs: 30 } }));
    const answers = await Promise.all(Array.from({ length: 9 }, () => backend.complete(fim())));
    expect(answers.every((a) => a.text === ANSWER)).toBe(true);
    expect(stubs.map(served)).toEqual([3, 3, 3]);
    expect(messages).toEqual([]);
  });

  it('sends fewer requests to a slow replica, as its requests stay outstanding longer', async () => {
    const backend = await start(2);
    stubs[0]!.model(MODEL)!.latency = { firstTokenMs: 5 };
    stubs[1]!.model(MODEL)!.latency = { firstTokenMs: 250 };
    // Four callers taking requests from one queue, each sending the next when its last is answered.
    const requests = 24;
    let left = requests;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (left-- > 0) await backend.complete(fim());
      }),
    );
    const [fast, slow] = stubs.map(served) as [number, number];
    expect(fast + slow).toBe(requests);
    expect(slow).toBeGreaterThan(0);
    expect(slow * 3, `fast ${fast}, slow ${slow}`).toBeLessThan(fast);
  });

  it('weighs replicas by their slots when the servers say how many they have', async () => {
    const slots = [3, 1];
    let next = 0;
    const backend = await start(2, (stub) => Object.assign(ollama(stub), { serverSlots: slots[next++] }), () => model({ latency: { firstTokenMs: 30 } }));
    expect(backend.serverSlots).toBe(4);
    const requests = 8;
    await Promise.all(Array.from({ length: requests }, () => backend.complete(fim())));
    // Each replica ends with the same load relative to its slots.
    expect(stubs.map(served)).toEqual(slots.map((s) => (requests * s) / 4));
  });

  it('knows no slot count while no replica says one', async () => {
    const backend = await start(2);
    expect(backend.serverSlots).toBeUndefined();
    expect(backend.host).toBe(stubs[0]!.url);
    expect(backend.model).toBe(MODEL);
    expect(backend.provider).toBe('ollama');
  });
});

describe('a replica that fails', () => {
  it('is taken out with one message, its requests retried elsewhere, and put back with one message when it answers again', async () => {
    const backend = await start(2);
    const [gone, other] = stubs as [OllamaStub, OllamaStub];
    await Promise.all([backend.complete(fim()), backend.complete(fim())]);
    expect([served(gone), served(other)]).toEqual([1, 1]);

    await gone.goDown();
    for (let i = 0; i < 4; i++) expect((await backend.complete(fim())).text).toBe(ANSWER);
    expect(served(other)).toBe(5);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.message).toContain(`Replica ${gone.url} of ${MODEL} is not answering (`);
    expect(warnings()[0]!.message).toContain('ECONNREFUSED');
    expect(warnings()[0]!.message).toContain('requests go to the other 1 (of 2)');

    await gone.comeBack();
    await vi.waitFor(() => expect(infos()).toHaveLength(1), { timeout: 3000, interval: 10 });
    expect(probes(gone)).toBeGreaterThan(0);
    expect(infos()[0]!.message).toContain(`Replica ${gone.url} of ${MODEL} is answering again`);

    await Promise.all(Array.from({ length: 4 }, () => backend.complete(fim())));
    expect(served(gone)).toBe(1 + 2);
    expect(warnings()).toHaveLength(1);
  });

  it('retries a chat on another replica too', async () => {
    const backend = await start(2);
    await stubs[0]!.goDown();
    const answers = await Promise.all([backend.chat(chat()), backend.chat(chat())]);
    expect(answers.map((a) => a.text)).toEqual([ANSWER, ANSWER]);
    expect(served(stubs[1]!)).toBe(2);
    expect(warnings()).toHaveLength(1);
  });

  it('is taken out when it lacks the model, with the command that installs it, and put back once it has it', async () => {
    const backend = await start(2);
    stubs[0]!.removeModel(MODEL);
    expect((await backend.complete(fim())).text).toBe(ANSWER);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.message).toContain(`ollama pull ${MODEL}`);
    // Probed, and not put back while the model is still missing (a probe that only asks whether the server is up
    // would put it back, and the next request would take it out again).
    const before = stubs[0]!.requests.length;
    await sleep(PROBE_MS * 4);
    expect(stubs[0]!.requests.length).toBeGreaterThan(before);
    expect(infos()).toEqual([]);
    stubs[0]!.setModel(model());
    await vi.waitFor(() => expect(infos()).toHaveLength(1), { timeout: 3000, interval: 10 });
    await Promise.all([backend.complete(fim()), backend.complete(fim())]);
    expect(served(stubs[0]!)).toBe(1);
  });

  it('stays in when it is only busy: the request goes to another replica, and no message', async () => {
    const backend = await start(2);
    stubs[0]!.model(MODEL)!.fault = 'queue-full';
    for (let i = 0; i < 4; i++) expect((await backend.complete(fim())).text).toBe(ANSWER);
    expect(served(stubs[1]!)).toBe(4);
    // Taken out, it would have had the first request only.
    expect(served(stubs[0]!)).toBeGreaterThan(1);
    expect(messages).toEqual([]);
  });

  it('is out without a message while its server loads the model, probed with its own probe, and back without one', async () => {
    // Ollama holds requests while it loads a model; llama-server answers 503 "Loading model" (the backend's
    // 'loading'). The stand-in speaks Ollama, so the first replica's backend says 'loading' while `loading` is set.
    let loading = true;
    let readyProbes = 0;
    const backend = await start(2, (stub) => {
      const real = ollama(stub);
      if (stub !== stubs[0]) return real;
      const loadingError = () => new BackendError('loading', `Model ${MODEL} is loading at ${stub.url}`, MODEL, stub.url);
      return Object.assign(real, {
        complete: (request: FimRequest) => (loading ? Promise.reject(loadingError()) : OllamaBackend.prototype.complete.call(real, request)),
        probe: async (signal: AbortSignal) => {
          if (loading) throw loadingError();
          const res = await fetch(`${stub.url}/api/version`, { signal });
          await res.body?.cancel();
          readyProbes++;
        },
      });
    });
    for (let i = 0; i < 3; i++) expect((await backend.complete(fim())).text).toBe(ANSWER);
    expect(served(stubs[1]!)).toBe(3);
    loading = false;
    await vi.waitFor(() => expect(readyProbes).toBeGreaterThan(0), { timeout: 3000, interval: 10 });
    await Promise.all([backend.complete(fim()), backend.complete(fim())]);
    expect(served(stubs[0]!)).toBe(1);
    // Its own probe, not a one-token completion.
    expect(stubs[0]!.generateRequests(MODEL).filter((r) => r.body?.options?.num_predict === 1)).toEqual([]);
    expect(messages).toEqual([]);
  });

  it('never is taken out by an aborted request', async () => {
    const backend = await start(2, ollama, () => model({ latency: { firstTokenMs: 0, perTokenMs: 40 } }));
    const controllers = Array.from({ length: 4 }, () => new AbortController());
    const pending = controllers.map((c) => failure(backend.complete(fim(c.signal))));
    await Promise.all(stubs.map((s) => s.waitFor((requests) => requests.filter((r) => r.path === '/api/generate' && r.chunksSent > 0).length === 2)));
    for (const c of controllers) c.abort();
    expect((await Promise.all(pending)).map((e) => e.kind)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
    expect(await failure(backend.complete(fim(AbortSignal.abort())))).toMatchObject({ kind: 'aborted' });
    await Promise.all(stubs.map((s) => s.waitFor((requests) => requests.filter((r) => r.aborted).length === 2)));

    stubs.forEach((s) => (s.model(MODEL)!.latency = undefined));
    await Promise.all([backend.complete(fim()), backend.complete(fim())]);
    expect(stubs.map(served)).toEqual([3, 3]);
    expect(messages).toEqual([]);
  });
});

describe('every replica down', () => {
  it('still tries them and throws the last failure, as this backend’s; one message per replica', async () => {
    const backend = await start(2);
    await Promise.all(stubs.map((s) => s.goDown()));
    const error = await failure(backend.complete(fim()));
    expect(error.kind).toBe('unreachable');
    expect(error.host).toBe(backend.host);
    expect(error.message).toContain('ECONNREFUSED');
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]!.message).toContain('none of the 2 is answering');

    expect((await failure(backend.chat(chat()))).kind).toBe('unreachable');
    expect(warnings()).toHaveLength(2);

    // Once one is back (tried first, or found by its probe), requests get answers again.
    await stubs[0]!.comeBack();
    expect((await backend.complete(fim())).text).toBe(ANSWER);
    expect(served(stubs[0]!)).toBe(1);
    expect(infos()).toHaveLength(1);
  });
});

describe('warm and close', () => {
  it('warms every replica and takes out the ones that fail; throws only when all do', async () => {
    const backend = await start(2);
    await stubs[1]!.goDown();
    await backend.warm();
    expect(stubs[0]!.generateRequests(MODEL)).toHaveLength(1);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.message).toContain(stubs[1]!.url);
    // Out: requests go to the other one.
    await Promise.all([backend.complete(fim()), backend.complete(fim())]);
    expect(served(stubs[0]!)).toBe(2);

    await stubs[0]!.goDown();
    await expect(backend.warm()).rejects.toBeInstanceOf(Error);
  });

  it('stops probing on close(), aborting a probe in flight, and closes every replica once', async () => {
    const closed: string[] = [];
    const backend = await start(2, (stub) => Object.assign(ollama(stub), { close: async () => void closed.push(stub.url) }));
    const [hanging, gone] = stubs as [OllamaStub, OllamaStub];
    hanging.removeModel(MODEL);
    await gone.goDown();
    await failure(backend.complete(fim()));
    expect(warnings()).toHaveLength(2);
    // The next probe of `hanging` finds the model and then an answer that never comes.
    hanging.setModel(model({ fault: 'hang' }));
    await hanging.waitFor((requests) => requests.some((r) => r.path === '/api/generate'), 3000);

    await Promise.all([backend.close(), backend.close()]);
    expect(closed.sort()).toEqual(stubs.map((s) => s.url).sort());
    await hanging.waitFor((requests) => requests.some((r) => r.path === '/api/generate' && r.aborted));
    await gone.comeBack();
    hanging.reset();
    await sleep(PROBE_MS * 5);
    expect([...hanging.requests, ...gone.requests]).toEqual([]);
    expect(infos()).toEqual([]);
  });
});
