import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OllamaStub } from '../support/ollama-stub.js';
import { CLI, LspClient } from '../support/lsp-client.js';

const MODEL = 'qwen2.5-coder:1.5b-base';
const URI = 'file:///work/src/app.ts';
const SOURCE = 'function greet(name: string) {\n  return \n}\n';
const CURSOR = { line: 1, character: 9 };
const WARNING = 2;
const INFO = 3;

let stub: OllamaStub;
let client: LspClient;

beforeEach(async () => {
  stub = new OllamaStub({ models: [{ name: MODEL, defaultAnswer: 'name;' }] });
  await stub.start();
  client = new LspClient();
});

afterEach(async () => {
  await client.shutdown();
  await stub.stop();
});

const prompted = (model = MODEL) => stub.generateRequests(model).filter((r) => r.body?.prompt);

async function start(models: unknown[] = [MODEL], extra: Record<string, unknown> = {}) {
  await client.initialize({ xencode: { ollama: { host: stub.url }, models, ...extra } });
  await client.open(URI, SOURCE);
}

describe('when Ollama is unreachable', () => {
  it('warns once with how to start it, returns empty completions, and recovers by itself', async () => {
    // Without the cache, so that the last request reaches (and misses) the server again.
    await start([MODEL], { cache: { enabled: false } });
    await stub.goDown();
    for (let i = 0; i < 5; i++) expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    const warnings = client.messages(WARNING);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(stub.url);
    expect(warnings[0]).toContain('ollama serve');

    await stub.comeBack();
    const list = await client.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('name;');
    await client.waitFor(() => client.messages(INFO).some((m) => m.includes('reachable again')), 2000, 'the recovery message');
    // Down again: a new episode earns a new warning.
    await stub.goDown();
    await client.completion(URI, CURSOR);
    expect(client.messages(WARNING)).toHaveLength(2);
  });
});

describe('when the connection to Ollama breaks', () => {
  it.each([
    ['reset-mid-stream', 'ECONNRESET'],
    ['close-mid-stream', 'UND_ERR_SOCKET'],
  ] as const)('%s: says Ollama closed the connection mid-answer (not how to start it), once, and the next request works', async (fault, code) => {
    await start([MODEL], { cache: { enabled: false } });
    stub.model(MODEL)!.fault = fault;
    expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    const warnings = client.messages(WARNING);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`Ollama at ${stub.url} closed the connection in the middle of an answer from ${MODEL} (${code}`);
    expect(warnings[0]).toContain('it may have crashed or been restarted');
    expect(warnings[0]).not.toContain('Cannot reach');
    expect(warnings[0]).not.toContain('Start it with');
    // The answers had started before the connection broke.
    expect(prompted().every((r) => r.chunksSent > 0 && r.aborted)).toBe(true);
    stub.model(MODEL)!.fault = undefined;
    expect((await client.completion(URI, CURSOR)).items[0]?.label).toBe('name;');
    // Not 'unreachable': no "reachable again", since it never was unreachable.
    expect(client.messages(INFO).some((m) => m.includes('reachable again'))).toBe(false);
  });

  it('a connection closed before any answer byte is asked again once, then reported as closed, not unreachable', async () => {
    await start([MODEL], { cache: { enabled: false } });
    stub.model(MODEL)!.fault = 'close-before-answer';
    expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    const [warning] = client.messages(WARNING);
    expect(warning).toContain(`closed the connection before answering ${MODEL} (UND_ERR_SOCKET`);
    expect(warning).not.toContain('Start it with');
    expect(prompted()).toHaveLength(2);
  });
});

describe('model problems', () => {
  it('says which `ollama pull` to run for a missing model', async () => {
    await start(['starcoder2:3b']);
    expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    await client.completion(URI, CURSOR);
    const warnings = client.messages(WARNING);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ollama pull starcoder2:3b');
  });

  it('falls back to the raw template when the server says the model does not support insert', async () => {
    stub.model(MODEL)!.fault = 'no-insert';
    stub.model(MODEL)!.rules = [{ promptIncludes: '<|fim_prefix|>', answer: 'name;' }];
    await start();
    const list = await client.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('name;');
    const [withSuffix, raw] = prompted();
    expect(withSuffix!.status).toBe(400);
    expect(raw!.body.raw).toBe(true);
    expect(raw!.body.prompt.startsWith('<|fim_prefix|>function greet')).toBe(true);
    expect(client.messages(WARNING)).toEqual([]);
  });

  it('names models that can fill in the middle when the configured one cannot and has no known template', async () => {
    stub.setModel({ name: 'llama3.2:3b', capabilities: ['completion', 'tools'], defaultAnswer: 'x' });
    await start(['llama3.2:3b']);
    expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    const [warning] = client.messages(WARNING);
    expect(warning).toContain('llama3.2:3b');
    expect(warning).toContain('qwen2.5-coder:1.5b-base');
    expect(prompted('llama3.2:3b')).toHaveLength(0);
  });

  it.each([
    ['server-error', 'llama runner process has terminated'],
    ['mid-stream-error', 'unexpected EOF'],
    ['queue-full', 'busy'],
  ] as const)('survives a %s: empty completion, one warning, next request works', async (fault, text) => {
    stub.model(MODEL)!.fault = fault;
    await start();
    expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    expect(client.messages(WARNING).join('\n')).toContain(text);
    stub.model(MODEL)!.fault = undefined;
    expect((await client.completion(URI, CURSOR)).items[0]?.label).toBe('name;');
  });
});

describe('bad input', () => {
  it('survives malformed JSON-RPC and keeps answering', async () => {
    await start();
    client.process.stdin.write('Content-Length: 20\r\n\r\n{"this is": not json');
    client.process.stdin.write('Content-Length: 7\r\n\r\n[1,2,3]');
    const list = await client.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('name;');
    expect(client.process.exitCode).toBeNull();
  });

  it('answers unknown methods with MethodNotFound', async () => {
    await start();
    await expect(client.connection.sendRequest('xencode/noSuchMethod', {})).rejects.toMatchObject({ code: -32601 });
    await client.connection.sendNotification('xencode/noSuchNotification', {});
    expect((await client.completion(URI, CURSOR)).items).toHaveLength(1);
  });

  it('clamps positions out of range instead of failing', async () => {
    await start();
    const past = await client.completion(URI, { line: 99, character: 99 });
    expect(past.items.length).toBeLessThanOrEqual(1);
    const negative = await client.completion(URI, { line: -1, character: -5 });
    expect(negative.items.length).toBeLessThanOrEqual(1);
    const [request] = prompted();
    expect(request!.body.suffix).toBe('');
  });

  it('answers completions for documents that were never opened with an empty list', async () => {
    await start();
    expect((await client.completion('file:///nowhere.ts', CURSOR)).items).toEqual([]);
  });

  it('does not call the model for binary documents', async () => {
    await start();
    await client.open('file:///work/blob.ts', 'PK\u0003\u0004\u0000\u0000binary\u0000stuff\n');
    expect((await client.completion('file:///work/blob.ts', { line: 0, character: 4 })).items).toEqual([]);
    expect(prompted()).toHaveLength(0);
  });

  it('handles a 10 MB document without a crash and with a bounded prompt', async () => {
    await start();
    const line = 'export const value = computeSomethingExpensive(input, options);\n';
    const huge = line.repeat(Math.ceil((10 * 1024 * 1024) / line.length));
    await client.open('file:///work/huge.ts', huge + 'const last = ');
    const lines = huge.split('\n').length - 1;
    const list = await client.completion('file:///work/huge.ts', { line: lines, character: 13 });
    expect(list.items[0]?.label).toBe('name;');
    const [request] = prompted();
    expect(request!.body.prompt.length).toBeLessThanOrEqual(6000);
    await client.insert('file:///work/huge.ts', { line: 0, character: 0 }, '// edited\n');
    expect((await client.completion('file:///work/huge.ts', { line: lines + 1, character: 13 })).items).toHaveLength(1);
  });
});

describe('settings', () => {
  it('reports a bad value by key, uses its default and keeps serving', async () => {
    await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL], completion: { maxTokens: 'many' }, bogus: 1 } });
    await client.open(URI, SOURCE);
    await client.waitFor(() => client.messages(WARNING).length > 0, 2000, 'the settings warning');
    const [warning] = client.messages(WARNING);
    expect(warning).toContain('xencode.completion.maxTokens');
    expect(warning).toContain('xencode.bogus');
    expect((await client.completion(URI, CURSOR)).items).toHaveLength(1);
    expect(prompted()[0]!.body.options.num_predict).toBe(128);
  });

  it('reads workspace/configuration, and re-reads it on didChangeConfiguration', async () => {
    stub.setModel({ name: 'starcoder2:3b', defaultAnswer: 'fromStarcoder;' });
    client.configuration = { ollama: { host: stub.url }, models: [MODEL], completion: { maxTokens: 32 } };
    await client.initialize({});
    await client.open(URI, SOURCE);
    await client.waitFor(() => client.stderr.includes('positions in'), 2000);
    // Give the server the moment it needs to pull the configuration after `initialized`.
    await new Promise((r) => setTimeout(r, 200));
    expect((await client.completion(URI, CURSOR)).items[0]?.label).toBe('name;');
    expect(prompted()[0]!.body.options.num_predict).toBe(32);

    client.configuration = { ollama: { host: stub.url }, models: ['starcoder2:3b'] };
    await client.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
    await new Promise((r) => setTimeout(r, 200));
    expect((await client.completion(URI, CURSOR)).items[0]?.label).toBe('fromStarcoder;');
  });

  it('loads the models at start-up unless XENCODE_NO_WARMUP=1 says not to', async () => {
    const loads = () => stub.generateRequests(MODEL).filter((r) => r.body?.prompt === '').length;
    await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL] } });
    await client.executeCommand('xencode.stats');
    await new Promise((r) => setTimeout(r, 300));
    expect(loads()).toBe(0);
    await client.shutdown();
    client = new LspClient({ env: { XENCODE_NO_WARMUP: '0' } });
    await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL] } });
    await stub.waitFor(() => loads() === 1, 5000);
    expect(stub.generateRequests(MODEL).find((r) => r.body?.prompt === '')!.body.keep_alive).toBe('30m');
  });

  it('takes the default host from OLLAMA_HOST', async () => {
    await client.shutdown();
    client = new LspClient({ env: { OLLAMA_HOST: stub.url.replace('http://', '') } });
    await client.initialize({ xencode: { models: [MODEL] } });
    await client.open(URI, SOURCE);
    expect((await client.completion(URI, CURSOR)).items).toHaveLength(1);
  });
});

describe('the command line', () => {
  it('prints its version and help', () => {
    const version = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--stdio');
    const nothing = spawnSync(process.execPath, [CLI], { encoding: 'utf8' });
    expect(nothing.status).toBe(1);
    expect(nothing.stderr).toContain('xencode --stdio');
  });
});
