import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { OllamaStub } from '../support/ollama-stub.js';
import { LspClient, POPUP_ONLY_CAPABILITIES } from '../support/lsp-client.js';

const MODEL = 'qwen2.5-coder:1.5b-base';
const URI = 'file:///work/src/app.ts';
const SOURCE = 'function greet(name: string) {\n  return \n}\n';
const CURSOR = { line: 1, character: 9 };

let stub: OllamaStub;
let client: LspClient;

beforeEach(async () => {
  stub = new OllamaStub({ models: [{ name: MODEL, defaultAnswer: '`Hello, ${name}`;', latency: { firstTokenMs: 400, perTokenMs: 5 } }] });
  await stub.start();
  client = new LspClient();
});

afterEach(async () => {
  await client.shutdown();
  await stub.stop();
});

const prompted = () => stub.generateRequests(MODEL).filter((r) => r.body?.prompt);

async function start(extra: Record<string, unknown> = {}) {
  await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL], ...extra } });
  await client.open(URI, SOURCE);
}

describe('request lifecycle', () => {
  it('a newer request for the same document supersedes the older one and aborts its model call', async () => {
    await start();
    const first = client.completion(URI, CURSOR);
    await stub.waitFor(() => prompted().length === 1);
    const second = client.completion(URI, CURSOR);
    const [a, b] = await Promise.all([first, second]);
    expect(a.items).toEqual([]);
    expect(b.items[0]?.label).toBe('`Hello, ${name}`;');
    await stub.waitFor(() => prompted()[0]!.aborted, 2000);
    expect(prompted()[0]!.aborted).toBe(true);
    expect(prompted()[1]!.aborted).toBe(false);
    expect(prompted()[1]!.completed).toBe(true);
  });

  it('requests for different documents do not supersede each other', async () => {
    await start();
    await client.open('file:///work/src/other.ts', SOURCE);
    const [a, b] = await Promise.all([client.completion(URI, CURSOR), client.completion('file:///work/src/other.ts', CURSOR)]);
    expect(a.items).toHaveLength(1);
    expect(b.items).toHaveLength(1);
  });

  it('$/cancelRequest aborts the model call and answers RequestCancelled', async () => {
    await start();
    const source = new CancellationTokenSource();
    const pending = client.connection.sendRequest('textDocument/completion', { textDocument: { uri: URI }, position: CURSOR }, source.token);
    await stub.waitFor(() => prompted().length === 1);
    source.cancel();
    await expect(pending).rejects.toMatchObject({ code: -32800 });
    await stub.waitFor(() => prompted()[0]!.aborted, 2000);
  });

  it('drops an answer computed for an older document version', async () => {
    await start();
    const pending = client.completion(URI, CURSOR);
    await stub.waitFor(() => prompted().length === 1);
    // The user typed elsewhere while the model was thinking: the answer no longer fits.
    await client.insert(URI, { line: 0, character: 0 }, '// greeting\n');
    const list = await pending;
    expect(list.items).toEqual([]);
    expect(client.stderr).toContain('dropped an answer');
  });

  it('debounces: only the last of a burst of requests asks the model', async () => {
    stub.model(MODEL)!.latency = { firstTokenMs: 0, perTokenMs: 0 };
    await start({ completion: { debounceMs: 150 } });
    const burst = [client.completion(URI, CURSOR), client.completion(URI, CURSOR), client.completion(URI, CURSOR)];
    const results = await Promise.all(burst);
    expect(results.map((r) => r.items.length)).toEqual([0, 0, 1]);
    expect(prompted()).toHaveLength(1);
  });

  it('aborts at the deadline and answers nothing, leaving no model call running', async () => {
    stub.model(MODEL)!.fault = 'hang';
    await start({ ensemble: { deadlineMs: 300 } });
    const list = await client.completion(URI, CURSOR);
    expect(list.items).toEqual([]);
    await stub.waitFor(() => prompted()[0]?.aborted === true, 2000);
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.models[MODEL].late).toBe(1);
  });

  it('shuts down cleanly with exit code 0', async () => {
    await start();
    expect(await client.shutdown()).toBe(0);
  });
});

describe('popup clients (no inline completion): a slow model never holds up the popup', () => {
  async function startPopup(waitMs: number) {
    await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL], completion: { popupWaitMs: waitMs } } }, POPUP_ONLY_CAPABILITIES);
    await client.open(URI, SOURCE);
  }

  it('answers nothing within the budget, lets the model finish, and shows its answer on the next request', async () => {
    stub.model(MODEL)!.latency = { firstTokenMs: 1500, perTokenMs: 1 };
    await startPopup(100);
    const first = await client.completion(URI, CURSOR);
    expect(first).toEqual({ isIncomplete: true, items: [] });
    // The first call of a cold server may reach the model after the 100 ms budget: wait for it, not a race.
    await stub.waitFor(() => prompted().length === 1, 5000);
    // Not aborted: the run goes on and its answer is kept.
    await stub.waitFor(() => prompted()[0]!.completed, 10_000);
    expect(prompted()[0]!.aborted).toBe(false);
    const next = await client.completion(URI, CURSOR);
    expect(next.items[0]?.label).toBe('`Hello, ${name}`;');
    expect(prompted()).toHaveLength(1);
  });

  it('a request made while the detached run is still going waits for it and types ahead into its answer', async () => {
    stub.model(MODEL)!.latency = { firstTokenMs: 600, perTokenMs: 1 };
    await startPopup(300);
    expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    // The user types the answer's first character; the next trigger comes while the model is still answering.
    await client.insert(URI, CURSOR, '`');
    const next = await client.completion(URI, { line: 1, character: 10 });
    if (next.items.length === 0) {
      // On a slow machine the second budget may run out too; the answer is then there for the request after.
      await stub.waitFor(() => prompted()[0]!.completed, 10_000);
      const third = await client.completion(URI, { line: 1, character: 10 });
      expect(third.items[0]?.textEdit).toMatchObject({ newText: 'Hello, ${name}`;' });
    } else {
      // The rest of the answer after the typed backtick.
      expect(next.items[0]?.textEdit).toMatchObject({ newText: 'Hello, ${name}`;' });
    }
    // One model call: the typed-ahead answer came from the detached run.
    expect(prompted()).toHaveLength(1);
    expect(prompted()[0]!.aborted).toBe(false);
  });

  it('clients with inline completion wait for the answer as before', async () => {
    stub.model(MODEL)!.latency = { firstTokenMs: 500, perTokenMs: 1 };
    await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL], completion: { popupWaitMs: 50 } } });
    await client.open(URI, SOURCE);
    expect((await client.completion(URI, CURSOR)).items[0]?.label).toBe('`Hello, ${name}`;');
  });
});
