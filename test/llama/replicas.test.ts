// Replicas against two REAL llama-servers with the same tiny model (the text is gibberish; what is asserted is where
// requests go, what the user hears, and that a server that dies and comes back is taken out and put back).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BackendEnvironment, type FimRequest } from '../../server/models/backend.js';
import { silentLogger } from '../../server/log.js';
import { LlamaCppBackend } from '../../server/models/llama-cpp-backend.js';
import { ReplicaBackend } from '../../server/models/replica-backend.js';
import { llamaMetrics, slotsBusy, startLlamaServer, tinyModel, type RunningLlamaServer } from '../support/llama.js';
import { LspClient } from '../support/lsp-client.js';
import { failure, abortOnFirstBytes } from '../support/backend-calls.js';

const MODEL = 'tiny-qwen2.5-coder';
const PROBE_MS = 100;

interface Message {
  readonly severity: 'info' | 'warn';
  readonly message: string;
}

let servers: RunningLlamaServer[] = [];
let replicas: ReplicaBackend | undefined;
let messages: Message[] = [];

beforeEach(async () => {
  // One slot each, 4096 tokens: long enough generations to catch one mid-stream.
  servers = await Promise.all([0, 1].map(() => startLlamaServer({ model: tinyModel(1), args: ['-c', '4096'] })));
});

afterEach(async () => {
  await replicas?.close();
  await Promise.all(servers.map((s) => s.stop()));
  replicas = undefined;
  messages = [];
});

const environment = (): BackendEnvironment => ({ logger: silentLogger, notify: (severity, message) => messages.push({ severity, message }), env: {} });

function start(fetchFor?: (server: RunningLlamaServer) => typeof fetch | undefined): ReplicaBackend {
  const backends = servers.map((server) => new LlamaCppBackend({ model: MODEL, host: server.host, fetch: fetchFor?.(server) }));
  replicas = new ReplicaBackend(backends, { environment: environment(), probeIntervalMs: PROBE_MS });
  return replicas;
}

const fim = (overrides: Partial<FimRequest> = {}): FimRequest => ({
  prefix: 'def add(a, b):\n    ',
  suffix: '\n\nprint(add(1, 2))\n',
  maxTokens: 8,
  temperature: 0,
  signal: new AbortController().signal,
  ...overrides,
});

/** Tokens a server generated since it started (its Prometheus /metrics). */
async function predicted(server: RunningLlamaServer): Promise<number> {
  const text = await (await fetch(`${server.host}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('llamacpp:tokens_predicted_total '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

const warnings = () => messages.filter((m) => m.severity === 'warn');
const infos = () => messages.filter((m) => m.severity === 'info');

describe('replicas on real llama-servers', () => {
  it('spreads concurrent requests over both servers, and counts their slots together', async () => {
    const backend = start();
    const answers = await Promise.all([backend.complete(fim()), backend.complete(fim())]);
    expect(answers.every((a) => a.model === MODEL)).toBe(true);
    for (const server of servers) expect(await predicted(server)).toBeGreaterThan(0);
    // /props was read on both: one slot each.
    expect(backend.serverSlots).toBe(2);
    expect(messages).toEqual([]);
  });

  it('takes out a server that died with one message, answers from the other, and puts it back once it is restarted', async () => {
    const backend = start();
    const [dies, other] = servers as [RunningLlamaServer, RunningLlamaServer];
    await dies.stop();
    for (let i = 0; i < 3; i++) expect((await backend.complete(fim())).model).toBe(MODEL);
    expect(await predicted(other)).toBeGreaterThan(0);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.message).toContain(`Replica ${dies.host} of ${MODEL} is not answering`);

    // The same port again: the probe (GET /health) finds it.
    const restarted = await startLlamaServer({ model: tinyModel(1), port: dies.port, args: ['-c', '4096'] });
    servers[0] = restarted;
    await vi.waitFor(() => expect(infos()).toHaveLength(1), { timeout: 10_000, interval: 20 });
    expect(infos()[0]!.message).toContain(`Replica ${restarted.host} of ${MODEL} is answering again`);
    await Promise.all([backend.complete(fim()), backend.complete(fim())]);
    expect(await predicted(restarted)).toBeGreaterThan(0);
    expect(warnings()).toHaveLength(1);
  });

  it('throws unreachable when every server is down', async () => {
    const backend = start();
    await Promise.all(servers.map((s) => s.stop()));
    const error = await failure(backend.complete(fim()));
    expect(error.kind).toBe('unreachable');
    expect(warnings()).toHaveLength(2);
  });

  it('an aborted request stops its slot and never takes the server out', async () => {
    const controller = new AbortController();
    // The caller aborts as soon as the first streamed bytes arrive: the server is mid-generation then.
    const firstBytes = abortOnFirstBytes(controller, '/infill');
    const backend = start(() => firstBytes);
    expect((await failure(backend.complete(fim({ maxTokens: 1900, signal: controller.signal })))).kind).toBe('aborted');
    await vi.waitFor(async () => expect((await Promise.all(servers.map((s) => slotsBusy(s.host)))).flat()).toEqual([false, false]), {
      timeout: 5000,
      interval: 25,
    });
    const before = await Promise.all(servers.map(predicted));
    await Promise.all([backend.complete(fim()), backend.complete(fim())]);
    const after = await Promise.all(servers.map(predicted));
    expect(after.every((tokens, i) => tokens > before[i]!)).toBe(true);
    expect(messages).toEqual([]);
  });
});

describe('replicas through the built server', () => {
  it('keeps completing when one llama-server is killed, with one message naming it', async () => {
    const [first, second] = servers as [RunningLlamaServer, RunningLlamaServer];
    const client = new LspClient();
    try {
      await client.initialize({
        xencode: { models: [{ name: MODEL, provider: 'llama.cpp', host: first.host, hosts: [second.host] }], cache: { enabled: false }, completion: { maxTokens: 8 } },
      });
      const uri = 'file:///work/notes.txt';
      await client.open(uri, 'things to do:\n- \n', 'plaintext');
      await client.completion(uri, { line: 1, character: 2 });
      first.process.kill('SIGKILL');
      await first.stop();
      const before = (await llamaMetrics(second.host)).tokens_predicted_total!;
      for (let i = 0; i < 3; i++) await client.completion(uri, { line: 1, character: 2 });
      expect((await llamaMetrics(second.host)).tokens_predicted_total!).toBeGreaterThan(before);
      const stats = await client.executeCommand('xencode.stats');
      expect(stats.models[MODEL]).toMatchObject({ requests: 4, failures: 0 });
      const said = client.messages(2).filter((m) => m.includes(first.host));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain('is not answering');
    } finally {
      await client.shutdown();
    }
  });
});
