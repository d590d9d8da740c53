// Providers through the built server, where a stand-in gives what a real server cannot be made to do here:
// replicas on several Ollama stand-ins (one going away and coming back), a server of the wrong provider, nothing
// listening. The real llama-server paths are in test/llama/.
import { afterEach, describe, expect, it } from 'vitest';
import { LspClient } from '../support/lsp-client.js';
import { OllamaStub } from '../support/ollama-stub.js';
import { freePort } from '../support/llama.js';
import { OpenAIStub } from '../support/openai-stub.js';

const MODEL = 'qwen2.5-coder:1.5b-base';
const URI = 'file:///work/src/math.ts';
const SOURCE = 'export function add(a: number, b: number): number {\n  return \n}\n';
const CURSOR = { line: 1, character: 9 };

let stubs: OllamaStub[] = [];
let client: LspClient | undefined;

afterEach(async () => {
  await client?.shutdown();
  client = undefined;
  await Promise.all(stubs.map((s) => s.stop()));
  stubs = [];
});

async function stand(count: number): Promise<OllamaStub[]> {
  stubs = Array.from({ length: count }, () => new OllamaStub({ models: [{ name: MODEL, defaultAnswer: 'a + b;', latency: { firstTokenMs: 40 } }] }));
  await Promise.all(stubs.map((s) => s.start()));
  return stubs;
}

async function start(models: unknown[], env: Record<string, string> = {}): Promise<LspClient> {
  client = new LspClient({ env });
  await client.initialize({ xencode: { models, cache: { enabled: false } } });
  await client.open(URI, SOURCE);
  return client;
}

describe('replicas of one model', () => {
  it('spread work over the replicas, survive one going away with one message, and take it back', async () => {
    const [one, two] = await stand(2);
    const c = await start([{ name: MODEL, host: one!.url, hosts: [two!.url] }]);
    // Two documents asking at once: the least-loaded replica takes the second.
    await c.open('file:///work/src/other.ts', SOURCE);
    await Promise.all([c.completion(URI, CURSOR), c.completion('file:///work/src/other.ts', CURSOR)]);
    expect(one!.generateRequests(MODEL).length).toBeGreaterThan(0);
    expect(two!.generateRequests(MODEL).length).toBeGreaterThan(0);

    await one!.goDown();
    for (let i = 0; i < 3; i++) expect((await c.completion(URI, CURSOR)).items[0]?.label).toBe('a + b;');
    const warnings = c.messages(2).filter((m) => m.includes(one!.url));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Replica .* is not answering/);
    const stats = await c.executeCommand('xencode.stats');
    expect(stats.models[MODEL].failures).toBe(0);

    await one!.comeBack();
    await c.waitFor(() => c.messages(3).some((m) => m.includes(one!.url) && /again/.test(m)), 20_000, 'the replica back');
    const before = one!.generateRequests(MODEL).length;
    await Promise.all([c.completion(URI, CURSOR), c.completion('file:///work/src/other.ts', CURSOR)]);
    expect(one!.generateRequests(MODEL).length).toBeGreaterThan(before);
  });
});

describe('a server that is not what the settings say', () => {
  it('an Ollama server named as llama.cpp: says it is Ollama and what to set', async () => {
    const [ollama] = await stand(1);
    const c = await start([{ name: MODEL, provider: 'llama.cpp', host: ollama!.url }]);
    await c.completion(URI, CURSOR);
    await c.waitFor(() => c.messages(2).length > 0, 5_000, 'a message');
    expect(c.messages(2)[0]).toMatch(/Ollama/);
    expect(c.messages(2)[0]).toMatch(/"provider": "ollama"/);
    // Said once, however often it is asked.
    await c.completion(URI, CURSOR);
    expect(c.messages(2)).toHaveLength(1);
  });

  it('nothing listening at a llama.cpp host: names llama-server and how to start it', async () => {
    const port = await freePort();
    const c = await start([{ name: 'coder', provider: 'llama.cpp', host: `http://127.0.0.1:${port}` }]);
    await c.completion(URI, CURSOR);
    await c.waitFor(() => c.messages(2).length > 0, 5_000, 'a message');
    expect(c.messages(2)[0]).toMatch(/llama-server/);
    expect(c.messages(2)[0]).toMatch(new RegExp(`llama-server -m .*--port ${port}`));
  });

  it('nothing listening at an OpenAI-compatible URL: names the URL, and the server serves on', async () => {
    const port = await freePort();
    const c = await start([{ name: 'Qwen/Qwen2.5-Coder-7B', provider: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` }]);
    await c.completion(URI, CURSOR);
    await c.waitFor(() => c.messages(2).length > 0, 5_000, 'a message');
    expect(c.messages(2)[0]).toContain(`127.0.0.1:${port}`);
    expect((await c.executeCommand('xencode.stats')).completions.requests).toBe(1);
  });
});

describe('an OpenAI-compatible server that wants a key', () => {
  const KEY = 'sk-team-0123456789abcdef';
  let openai: OpenAIStub;

  afterEach(async () => {
    await openai?.stop();
  });

  it('sends the key from the variable apiKeyEnv names; a wrong key is a 401 that names the variable and never the key', async () => {
    openai = new OpenAIStub({ models: ['Qwen/Qwen2.5-Coder-7B'], apiKey: KEY, answer: { tokens: ['a', ' +', ' b', ';'] } });
    await openai.start();
    const model = { name: 'Qwen/Qwen2.5-Coder-7B', provider: 'openai', baseUrl: openai.baseUrl, apiKeyEnv: 'TEAM_GPU_KEY' };
    const good = await start([model], { TEAM_GPU_KEY: KEY });
    expect((await good.completion(URI, CURSOR)).items[0]?.label).toBe('a + b;');
    expect(openai.requests.find((r) => r.path.endsWith('/completions'))?.authorization).toBe(`Bearer ${KEY}`);
    await good.shutdown();

    const bad = await start([model], { TEAM_GPU_KEY: 'sk-wrong-key-9999' });
    await bad.completion(URI, CURSOR);
    await bad.waitFor(() => bad.messages(2).length > 0, 5_000, 'a message');
    expect(bad.messages(2)[0]).toMatch(/TEAM_GPU_KEY/);
    expect(bad.messages(2).join('\n')).not.toContain('sk-wrong-key-9999');
    expect(bad.stderr).not.toContain('sk-wrong-key-9999');
  });

  it('a variable that is not set: says so before sending anything', async () => {
    openai = new OpenAIStub({ models: ['Qwen/Qwen2.5-Coder-7B'], apiKey: KEY, answer: { tokens: ['x'] } });
    await openai.start();
    const c = await start([{ name: 'Qwen/Qwen2.5-Coder-7B', provider: 'openai', baseUrl: openai.baseUrl, apiKeyEnv: 'TEAM_GPU_KEY' }], { TEAM_GPU_KEY: '' });
    await c.completion(URI, CURSOR);
    await c.waitFor(() => c.messages(2).length > 0, 5_000, 'a message');
    expect(c.messages(2)[0]).toMatch(/TEAM_GPU_KEY/);
    expect(openai.requests.filter((r) => r.path.endsWith('/completions'))).toEqual([]);
  });
});
