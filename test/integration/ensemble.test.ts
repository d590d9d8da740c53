import { afterEach, describe, expect, it } from 'vitest';
import { OllamaStub, type StubModel } from '../support/ollama-stub.js';
import { LspClient } from '../support/lsp-client.js';

const URI = 'file:///work/src/math.ts';
const SOURCE = 'export function combine(a: number, b: number): number {\n  return \n}\n';
const CURSOR = { line: 1, character: 9 };

let stub: OllamaStub;
let client: LspClient;

afterEach(async () => {
  await client?.shutdown();
  await stub?.stop();
});

/** A model with modest confidence (mean token probability ~0.37), so HYBRID needs a second opinion. */
function model(name: string, answer: string, firstTokenMs: number, extra: Partial<StubModel> = {}): StubModel {
  return { name, defaultAnswer: { text: answer, logprobs: Array(32).fill(-1) }, latency: { firstTokenMs, perTokenMs: 1 }, ...extra };
}

async function start(models: StubModel[], settings: Record<string, unknown>, version?: string) {
  stub = new OllamaStub({ models, ...(version ? { version } : {}) });
  await stub.start();
  client = new LspClient();
  await client.initialize({ xencode: { ollama: { host: stub.url }, models: models.map((m) => m.name), ...settings } });
  await client.open(URI, SOURCE);
}

const generated = (name: string) => stub.generateRequests(name).filter((r) => r.body?.prompt);

describe('the ensemble through the LSP', () => {
  it('hybrid answers when the second model agrees, and aborts the slow one', async () => {
    await start([model('fast:1b', 'a + b;', 30), model('mid:3b', 'a + b;', 150), model('slow:7b', 'b + a;', 1500)], {
      ensemble: { method: 'hybrid', deadlineMs: 5000 },
    });
    const list = await client.completion(URI, CURSOR);
    const item = list.items[0]!;
    expect(item.label).toBe('a + b;');
    expect(item.labelDetails?.description).toBe('xencode · 2/3 agree');
    expect((item.documentation as { value: string }).value).toContain('hybrid (agreement)');
    // It did not wait for the slow model: that call was started and then aborted.
    await stub.waitFor(() => generated('slow:7b')[0]?.aborted === true, 3000);
    expect(generated('fast:1b')[0]!.completed).toBe(true);
    expect(generated('mid:3b')[0]!.completed).toBe(true);
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.models['fast:1b']).toMatchObject({ requests: 1, answers: 1, wins: 1 });
    expect(stats.models['mid:3b']).toMatchObject({ requests: 1, answers: 1, wins: 1 });
    expect(stats.models['slow:7b']).toMatchObject({ requests: 1, answers: 0, wins: 0, cancelled: 1 });
    expect(stats.models['fast:1b'].meanLatencyMs).toBeGreaterThan(0);
  });

  it('holds the deadline: answers with what arrived and aborts the rest', async () => {
    await start([model('fast:1b', 'a + b;', 20), model('stuck:3b', 'a + b;', 0, { fault: 'hang' }), model('slow:7b', 'a + b;', 3000)], {
      ensemble: { method: 'hybrid', deadlineMs: 400 },
    });
    const list = await client.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('a + b;');
    await stub.waitFor(() => generated('stuck:3b')[0]?.aborted === true && generated('slow:7b')[0]?.aborted === true, 3000);
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.models['stuck:3b'].late).toBe(1);
    expect(stats.models['slow:7b'].late).toBe(1);
  });

  it('a failing model does not fail the ensemble, and is reported once', async () => {
    await start([model('a:1b', 'a + b;', 10), model('broken:3b', 'x', 10, { fault: 'server-error' }), model('c:7b', 'a + b;', 40)], {
      ensemble: { method: 'vote' },
    });
    const list = await client.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('a + b;');
    expect(client.messages(2).join('\n')).toContain('broken:3b');
  });

  it('vote: the majority beats a faster dissenter', async () => {
    await start([model('fast:1b', 'b - a;', 5), model('m2:3b', 'a + b;', 30), model('m3:7b', 'a + b;', 60)], { ensemble: { method: 'vote' } });
    const list = await client.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('a + b;');
    expect((list.items[0]!.documentation as { value: string }).value).toContain('vote (plurality)');
  });

  it('weighted: a heavy model outweighs two agreeing light ones', async () => {
    stub = new OllamaStub({ models: [model('heavy:14b', 'Math.max(a, b);', 5), model('l1:1b', 'a - b;', 5), model('l2:1b', 'a - b;', 5)] });
    await stub.start();
    client = new LspClient();
    await client.initialize({
      xencode: { ollama: { host: stub.url }, models: [{ name: 'heavy:14b', weight: 5 }, 'l1:1b', 'l2:1b'], ensemble: { method: 'weighted' } },
    });
    await client.open(URI, SOURCE);
    expect((await client.completion(URI, CURSOR)).items[0]?.label).toBe('Math.max(a, b);');
  });

  it('consensus abstains when the models disagree, and answers when they agree', async () => {
    await start([model('a:1b', 'a + b;', 5), model('b:3b', 'b * a;', 5), model('c:7b', 'Math.min(a, b);', 5)], {
      ensemble: { method: 'consensus' },
    });
    expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    stub.model('b:3b')!.defaultAnswer = 'a + b;';
    stub.model('c:7b')!.defaultAnswer = 'a + b;';
    expect((await client.completion(URI, CURSOR)).items[0]?.label).toBe('a + b;');
  });

  it('ROVER fuses three slightly different answers into the per-slot majority', async () => {
    await start([model('m1:1b', 'x * b + 1;', 5), model('m2:3b', 'a + b + 2;', 10), model('m3:7b', 'a * c + 1;', 15)], {
      ensemble: { method: 'weighted', rover: true },
    });
    const item = (await client.completion(URI, CURSOR)).items[0]!;
    // No model wrote this text; each slot took the majority.
    expect(item.label).toBe('a * b + 1;');
    expect((item.documentation as { value: string }).value).toContain('weighted (fused)');
  });

  it('self-consistency: one model sampled several times, with seeds and temperature, one call at a time', async () => {
    await start([model('solo:7b', 'a + b;', 20)], { ensemble: { method: 'vote', samples: 3 } });
    const list = await client.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('a + b;');
    const calls = generated('solo:7b');
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => c.body.options.seed).sort()).toEqual([1, 2, 3]);
    expect(calls.every((c) => c.body.options.temperature === 0.7)).toBe(true);
    // concurrency 1 (the default): each call starts after the previous one ended.
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.startedAt).toBeGreaterThanOrEqual(calls[i - 1]!.endedAt!);
  });

  it('hybrid trusts a lone confident answer without waiting for a second opinion', async () => {
    await start(
      [model('sure:1b', 'a + b;', 5, { defaultAnswer: { text: 'a + b;', logprobs: Array(32).fill(-0.01) } }), model('slow:7b', 'b + a;', 1500)],
      { ensemble: { method: 'hybrid' } },
    );
    const list = await client.completion(URI, CURSOR);
    expect((list.items[0]!.documentation as { value: string }).value).toContain('hybrid (confident)');
    await stub.waitFor(() => generated('slow:7b')[0]?.aborted === true, 3000);
  });

  it('asks for logprobs only from servers that support them', async () => {
    await start([model('a:1b', 'a + b;', 5)], { ensemble: { method: 'hybrid' } }, '0.13.0');
    await client.completion(URI, CURSOR);
    expect(generated('a:1b')[0]!.body.logprobs).toBe(true);
    await client.shutdown();
    await stub.stop();
    await start([model('a:1b', 'a + b;', 5)], { ensemble: { method: 'hybrid' } }, '0.11.4');
    await client.completion(URI, CURSOR);
    expect(generated('a:1b')[0]!.body.logprobs).toBeUndefined();
  });
});
