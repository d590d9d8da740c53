// The built `xencode --stdio` against REAL llama-servers (Debian's llama.cpp, tiny generated models): completions
// through /infill (provider llama.cpp) and /v1/completions (provider openai), cancellation reaching the server's
// slot, two models as an ensemble, the server's slot count as concurrency, a code action and a hover over chat.
// The tiny models' text is random bytes: these tests assert what the engine does, never what the text says.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { LspClient } from '../support/lsp-client.js';
import { llamaMetrics, slotsBusy, startLlamaServer, tinyModel, until, type RunningLlamaServer } from '../support/llama.js';

const URI = 'file:///work/src/notes.txt';
const SOURCE = 'The list of things to do:\n- buy milk\n- write the report\n- \n\nDone.\n';
const CURSOR = { line: 3, character: 2 };
const TS_URI = 'file:///work/src/math.ts';
const TS_SOURCE = 'export function add(a: number, b: number): number {\n  const sum = a + b;\n  return sum;\n}\n';

let a: RunningLlamaServer; // a text-only tiny model (answers run to their token budget), two slots
let b: RunningLlamaServer; // tiny model of seed 2, one slot
let client: LspClient;

beforeAll(async () => {
  [a, b] = await Promise.all([
    startLlamaServer({ model: tinyModel(3, { textOnly: true }), slots: 2, args: ['-c', '4096'] }),
    startLlamaServer({ model: tinyModel(2), slots: 1 }),
  ]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

afterEach(async () => {
  await client?.shutdown();
});

async function start(models: unknown[], extra: Record<string, unknown> = {}): Promise<void> {
  client = new LspClient();
  await client.initialize({ xencode: { models, cache: { enabled: false }, completion: { maxTokens: 24 }, ...extra } });
  await client.open(URI, SOURCE, 'plaintext');
}

const llamaModel = (name: string, server: RunningLlamaServer) => ({ name, provider: 'llama.cpp', host: server.host });

/** What the engine counted for a model (requests, answers, filtered, failures…). */
async function modelStats(name: string): Promise<Record<string, number>> {
  const stats = await client.executeCommand('xencode.stats');
  return stats.models[name] ?? {};
}

/** The items without their per-request ids, so that two answers to the same question compare equal. */
function shape(items: { insertText?: unknown; label?: string; textEdit?: unknown }[]): unknown[] {
  return items.map((i) => [i.label, i.insertText, i.textEdit]);
}

describe('completions from a real llama-server', () => {
  it('through /infill: the model is asked, streams, and the same question gets the same answer (popup and inline)', async () => {
    await start([llamaModel('tiny-a', a)]);
    const before = await llamaMetrics(a.host);
    const first = await client.completion(URI, CURSOR);
    const second = await client.completion(URI, CURSOR);
    expect(shape(second.items)).toEqual(shape(first.items));
    const inline = await client.inlineCompletion(URI, CURSOR);
    expect(inline.items.map((i) => i.insertText)).toEqual(first.items.map((i) => i.textEdit && 'newText' in i.textEdit ? i.textEdit.newText : i.insertText));
    const stats = await modelStats('tiny-a');
    expect(stats.requests).toBe(3);
    expect(stats.failures).toBe(0);
    expect(stats.answers + stats.filtered).toBe(3);
    const after = await llamaMetrics(a.host);
    expect(after.tokens_predicted_total! - before.tokens_predicted_total!).toBeGreaterThan(0);
    expect(after.prompt_tokens_total!).toBeGreaterThan(before.prompt_tokens_total!);
    expect((await client.executeCommand('xencode.stats')).problems).toEqual([]);
  });

  it('through /v1/completions (provider openai) with the family FIM template written into the prompt', async () => {
    await start([{ name: 'tiny-a', provider: 'openai', baseUrl: `${a.host}/v1`, fimTemplate: 'qwen2.5-coder' }]);
    const before = await llamaMetrics(a.host);
    const first = await client.completion(URI, CURSOR);
    const second = await client.completion(URI, CURSOR);
    expect(shape(second.items)).toEqual(shape(first.items));
    const stats = await modelStats('tiny-a');
    expect(stats).toMatchObject({ requests: 2, failures: 0 });
    const after = await llamaMetrics(a.host);
    expect(after.tokens_predicted_total! - before.tokens_predicted_total!).toBeGreaterThan(0);
  });

  it('a cancelled completion stops generating on the server: fewer tokens than the same request left alone', async () => {
    // A text-only tiny model never ends its text by itself: left alone, an answer runs to the slot's context.
    const long = await startLlamaServer({ model: tinyModel(3, { textOnly: true }) });
    try {
      await start([llamaModel('tiny-text', long)], { completion: { maxTokens: 4096 }, ensemble: { deadlineMs: 60_000 } });
      const predicted = async () => (await llamaMetrics(long.host)).tokens_predicted_total!;
      await client.completion(URI, CURSOR);
      const alone = await predicted();
      expect(alone).toBeGreaterThan(1000);

      const cancel = new CancellationTokenSource();
      let settled = false;
      const pending = client.connection
        .sendRequest('textDocument/completion', { textDocument: { uri: URI }, position: CURSOR }, cancel.token)
        .catch((e: unknown) => e)
        .finally(() => (settled = true));
      await until(async () => settled || (await slotsBusy(long.host)).some(Boolean), 10_000, 'the slot to start generating');
      expect(settled).toBe(false);
      cancel.cancel();
      await pending;
      await until(async () => !(await slotsBusy(long.host)).some(Boolean), 5_000, 'the slot to be idle after the cancel');
      const cancelled = (await predicted()) - alone;
      expect(cancelled).toBeLessThan(alone / 2);
      expect((await modelStats('tiny-text')).failures).toBe(0);
    } finally {
      await long.stop();
    }
  });

  it('two models (two GGUFs, two servers) answer one completion in parallel as an ensemble', async () => {
    await start([llamaModel('tiny-a', a), llamaModel('tiny-b', b)], { ensemble: { method: 'vote', deadlineMs: 20_000 } });
    const [ma, mb] = await Promise.all([llamaMetrics(a.host), llamaMetrics(b.host)]);
    await client.completion(URI, CURSOR);
    const stats = await client.executeCommand('xencode.stats');
    for (const name of ['tiny-a', 'tiny-b']) expect(stats.models[name]).toMatchObject({ requests: 1, failures: 0, late: 0 });
    const [ma2, mb2] = await Promise.all([llamaMetrics(a.host), llamaMetrics(b.host)]);
    expect(ma2.tokens_predicted_total!).toBeGreaterThan(ma.tokens_predicted_total!);
    expect(mb2.tokens_predicted_total!).toBeGreaterThan(mb.tokens_predicted_total!);
  });

  it('uses the server\'s two slots at once when no concurrency is configured', async () => {
    await start([llamaModel('tiny-a', a)], { completion: { maxTokens: 2048 }, ensemble: { deadlineMs: 60_000 } });
    await client.completion(URI, CURSOR); // /props is read with the first call
    const other = 'file:///work/src/other.txt';
    await client.open(other, SOURCE.replace('milk', 'bread'), 'plaintext');
    let both = false;
    const watching = until(async () => (both = (await slotsBusy(a.host)).every(Boolean)), 20_000, 'both slots busy').catch(() => undefined);
    await Promise.all([client.completion(URI, CURSOR), client.completion(other, CURSOR), watching]);
    expect(both).toBe(true);
  });
});

describe('a llama-server still loading its model', () => {
  it('is not reported as a failure: no message, no open problem', async () => {
    // A model path that is a FIFO nobody writes: llama-server listens and says "Loading model" for as long as it waits.
    const scratch = mkdtempSync(join(tmpdir(), 'xencode-loading-'));
    const fifo = join(scratch, 'loading.gguf');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const loading = await startLlamaServer({ model: fifo, wait: false });
    try {
      await until(async () => (await fetch(`${loading.host}/health`).then((r) => r.status).catch(() => 0)) === 503, 10_000, 'the 503 of a loading server');
      await start([llamaModel('tiny-late', loading)]);
      await client.completion(URI, CURSOR);
      await client.completion(URI, CURSOR);
      const stats = await client.executeCommand('xencode.stats');
      expect(stats.problems).toEqual([]);
      expect(client.messages(2)).toEqual([]);
      expect(client.messages(1)).toEqual([]);
      expect(stats.models['tiny-late']).toMatchObject({ requests: 2, answers: 0 });
    } finally {
      await loading.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('a llama-server named as Ollama', () => {
  it('says it is llama-server and what to set, once', async () => {
    await start([{ name: 'qwen2.5-coder:1.5b-base', host: b.host }]);
    await client.completion(URI, CURSOR);
    await client.completion(URI, CURSOR);
    await client.waitFor(() => client.messages(2).length > 0, 5_000, 'a message');
    expect(client.messages(2)).toHaveLength(1);
    expect(client.messages(2)[0]).toMatch(/llama-server/);
    expect(client.messages(2)[0]).toMatch(/"provider": "llama\.cpp"/);
  });
});

describe('chat on a real llama-server', () => {
  it('runs a code action (Explain) and a hover through /v1/chat/completions', async () => {
    await start([llamaModel('tiny-a', a)], { actions: { maxTokens: 64 }, hover: { deadlineMs: 30_000, maxTokens: 32 } });
    await client.open(TS_URI, TS_SOURCE);
    const actions = await client.codeActions(TS_URI, { start: { line: 1, character: 4 }, end: { line: 1, character: 4 } });
    const explain = actions.find((x) => x.title.startsWith('Xencode: Explain')) as { command?: { command: string; arguments?: unknown[] } };
    expect(explain?.command?.command).toBe('xencode.runAction');
    await client.executeCommand(explain.command!.command, ...(explain.command!.arguments ?? []));
    await client.waitFor(() => client.shownDocuments.length > 0 || client.messages().some((m) => m.includes('add')), 30_000, 'the explanation');
    await client.hover(TS_URI, { line: 0, character: 17 });
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.actionModels['tiny-a']).toMatchObject({ failures: 0 });
    expect(stats.actionModels['tiny-a'].requests).toBeGreaterThanOrEqual(2);
    expect(stats.problems).toEqual([]);
  });
});
