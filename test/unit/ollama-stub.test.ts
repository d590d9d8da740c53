import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ollama, type ChatResponse, type GenerateResponse, type ProgressResponse } from 'ollama';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliExit, main, parseConfig } from '../support/ollama-stub-cli.js';
import { normalizeModelName, OLLAMA_ERRORS, OllamaStub, tokenize, type StubModel } from '../support/ollama-stub.js';

const FIM = 'qwen2.5-coder:1.5b-base';
const CHAT = 'llama3.2:3b';

function models(): StubModel[] {
  return [
    {
      name: FIM,
      rules: [
        { promptIncludes: 'function add(', suffixIncludes: '}', answer: 'a: number, b: number) {\n  return a + b;\n' },
        { promptIncludes: 'function add(', answer: 'WRONG: the first rule should have matched' },
        { promptIncludes: 'explicit', answer: { text: 'ignored', tokens: ['foo', 'Bar', '()'], logprobs: [-0.5, -1.5] } },
      ],
      defaultAnswer: 'return 42;',
    },
    { name: CHAT, capabilities: ['completion', 'tools'], rules: [{ messageIncludes: 'Explain', answer: 'It adds.' }], defaultAnswer: 'OK.' },
  ];
}

let stub: OllamaStub;
let url: string;
let client: Ollama;

beforeEach(async () => {
  stub = new OllamaStub({ models: models(), pullable: [{ name: 'starcoder2:3b', defaultAnswer: 'pass' }], pullStepMs: 1 });
  url = await stub.start();
  client = new Ollama({ host: url });
});

afterEach(async () => {
  await stub.stop();
});

async function collect<T extends object>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of iterator) out.push(chunk);
  return out;
}

function post(path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
}

async function ndjson(response: Response): Promise<any[]> {
  return (await response.text())
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

/** What a rejected promise rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('general endpoints', () => {
  it('answers version, the root probe (GET and HEAD), and 404/405 like Ollama', async () => {
    expect(await client.version()).toEqual({ version: '0.13.0' });
    const root = await fetch(url);
    expect(root.status).toBe(200);
    expect(await root.text()).toBe('Ollama is running');
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');

    const unknown = await fetch(`${url}/api/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe('404 page not found');
    const wrongMethod = await fetch(`${url}/api/generate`);
    expect(wrongMethod.status).toBe(405);
  });

  it('rejects malformed and empty bodies with 400 and a Go-style message', async () => {
    const bad = await post('/api/generate', '{"model": x}', { headers: { 'Content-Type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "invalid character 'x' looking for beginning of value" });
    const truncated = await post('/api/generate', '{"model": "x"');
    expect(await truncated.json()).toEqual({ error: 'unexpected EOF' });
    const empty = await post('/api/chat', '');
    expect(await empty.json()).toEqual({ error: 'missing request body' });
    const array = await post('/api/show', '[]');
    expect(((await array.json()) as { error: string }).error).toBe('json: cannot unmarshal array into Go value of type api.ShowRequest');
    expect(stub.requests.map((r) => r.status)).toEqual([400, 400, 400, 400]);
  });

  it('lists installed models in /api/tags with the fields the client expects', async () => {
    const { models: listed } = await client.list();
    expect(listed.map((m) => m.name)).toEqual([FIM, CHAT]);
    const qwen = listed[0]!;
    expect(qwen.model).toBe(FIM);
    expect(qwen.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(qwen.size).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(String(qwen.modified_at)))).toBe(false);
    expect(qwen.details).toEqual({
      parent_model: '',
      format: 'gguf',
      family: 'qwen2',
      families: ['qwen2'],
      parameter_size: '1.5B',
      quantization_level: 'Q4_K_M',
    });
    expect(listed[1]!.details.family).toBe('llama');
  });
});

describe('/api/generate', () => {
  it('streams a rule-matched fill-in-the-middle answer token by token through the ollama client', async () => {
    const iterator = await client.generate({ model: FIM, prompt: 'function add(', suffix: '}\n', stream: true });
    const chunks = await collect(iterator);
    const tokens = chunks.filter((c) => !c.done).map((c) => c.response);
    expect(tokens).toEqual(tokenize('a: number, b: number) {\n  return a + b;\n'));
    expect(tokens.length).toBeGreaterThan(5);
    const last = chunks[chunks.length - 1]!;
    expect(last).toMatchObject({ model: FIM, done: true, done_reason: 'stop', response: '', eval_count: tokens.length });
    expect(last.context).toEqual([]);
    for (const key of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_duration'] as const) {
      expect(typeof last[key]).toBe('number');
    }
    expect(last.total_duration).toBeGreaterThanOrEqual(last.eval_duration);

    const [record] = stub.generateRequests(FIM);
    expect(record).toMatchObject({ method: 'POST', path: '/api/generate', model: FIM, status: 200, completed: true, aborted: false });
    expect(record!.chunksSent).toBe(tokens.length + 1);
    expect(record!.body).toMatchObject({ prompt: 'function add(', suffix: '}\n', stream: true });
  });

  it('streams explicit tokens as given, and streams by default when the request says nothing', async () => {
    const response = await post('/api/generate', { model: FIM, prompt: 'explicit please' });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = await ndjson(response);
    expect(lines.map((l) => l.response)).toEqual(['foo', 'Bar', '()', '']);
    expect(lines.map((l) => l.done)).toEqual([false, false, false, true]);
  });

  it('answers stream:false with one object holding the whole text', async () => {
    const answer = await client.generate({ model: FIM, prompt: 'function add(', suffix: '}' });
    expect(answer).toMatchObject({ response: 'a: number, b: number) {\n  return a + b;\n', done: true, done_reason: 'stop' });
    expect(stub.requests[0]).toMatchObject({ chunksSent: 1, completed: true });
  });

  it('uses the first matching rule whose conditions all hold, else the default answer', async () => {
    // Matches rule 2 only: rule 1 also needs a suffix containing '}'.
    expect((await client.generate({ model: FIM, prompt: 'function add(', suffix: 'x' })).response).toMatch(/^WRONG/);
    expect((await client.generate({ model: FIM, prompt: 'something else' })).response).toBe('return 42;');
    // raw mode drops the suffix, so suffixIncludes cannot match.
    expect((await client.generate({ model: FIM, prompt: 'function add(', suffix: '}', raw: true })).response).toMatch(/^WRONG/);
    // A model name without a tag is ':latest'; names match case-insensitively.
    stub.setModel({ name: 'tiny', defaultAnswer: 'hi' });
    expect((await client.generate({ model: 'TINY:latest', prompt: 'x' })).response).toBe('hi');
    expect(normalizeModelName('Org/Model')).toBe('org/model:latest');
  });

  it('caps the answer at options.num_predict with done_reason "length"', async () => {
    const chunks = await collect(await client.generate({ model: FIM, prompt: 'q', stream: true, options: { num_predict: 2 } }));
    expect(chunks.filter((c) => !c.done).map((c) => c.response)).toEqual(['return', ' ']);
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'length', eval_count: 2 });
  });

  it('cuts the answer before the first stop string, across token boundaries, with done_reason "stop"', async () => {
    const answer = await client.generate({ model: FIM, prompt: 'function add(', suffix: '}', options: { stop: ['\n  ret', 'number)'] } });
    expect(answer.response).toBe('a: number, b: ');
    expect(answer.done_reason).toBe('stop');
    // A stop the answer never reaches because num_predict comes first: still 'length'.
    const capped = await client.generate({ model: FIM, prompt: 'q', options: { num_predict: 1, stop: ['42'] } });
    expect(capped).toMatchObject({ response: 'return', done_reason: 'length' });
  });

  it('returns logprobs only when asked, per chunk, from the answer or a default', async () => {
    const plain = await collect(await client.generate({ model: FIM, prompt: 'explicit', stream: true }));
    expect(plain.every((c) => c.logprobs === undefined)).toBe(true);

    const withLogprobs = await collect(await client.generate({ model: FIM, prompt: 'explicit', stream: true, logprobs: true, top_logprobs: 2 }));
    const tokens = withLogprobs.filter((c) => !c.done);
    expect(tokens.map((c) => c.logprobs?.map((l) => [l.token, l.logprob]))).toEqual([[['foo', -0.5]], [['Bar', -1.5]], [['()', -0.1]]]);
    expect(tokens[0]!.logprobs![0]!.top_logprobs?.[0]).toMatchObject({ token: 'foo', logprob: -0.5 });
    expect(withLogprobs.at(-1)!.logprobs).toBeUndefined();

    const whole = await client.generate({ model: FIM, prompt: 'explicit', logprobs: true });
    expect(whole.logprobs?.map((l) => l.token)).toEqual(['foo', 'Bar', '()']);
  });

  it('warms up on an empty prompt: done_reason "load", and the model shows in /api/ps', async () => {
    expect((await client.ps()).models).toEqual([]);
    const load = await client.generate({ model: FIM, prompt: '', keep_alive: '10m' });
    expect(load).toMatchObject({ model: FIM, response: '', done: true, done_reason: 'load' });
    expect(load.eval_count).toBeUndefined();

    const [running] = (await client.ps()).models;
    expect(running).toMatchObject({ name: FIM, model: FIM, context_length: 4096 });
    expect(running!.size_vram).toBe(running!.size);
    expect(running!.details.family).toBe('qwen2');
    const expiresIn = Date.parse(String(running!.expires_at)) - Date.now();
    expect(expiresIn).toBeGreaterThan(9 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(10 * 60_000);

    // keep_alive 0 with an empty prompt unloads.
    expect(await client.generate({ model: FIM, prompt: '', keep_alive: 0 })).toMatchObject({ done_reason: 'unload' });
    expect((await client.ps()).models).toEqual([]);
  });

  it('treats an empty prompt as a load even with a suffix, as Ollama does', async () => {
    const answer = await client.generate({ model: FIM, prompt: '', suffix: 'rest of file' });
    expect(answer).toMatchObject({ done_reason: 'load', response: '' });
  });

  it('loads a model on its first generation too (ps shows it, with the requested num_ctx)', async () => {
    await client.generate({ model: CHAT, prompt: 'hi', options: { num_ctx: 8192 } });
    expect((await client.ps()).models.map((m) => [m.name, (m as { context_length?: number }).context_length])).toEqual([[CHAT, 8192]]);
  });
});

describe('errors and faults', () => {
  it('rejects a suffix for a model that cannot insert: 400 "does not support insert", raw or not', async () => {
    for (const raw of [false, true]) {
      const err = await rejection(client.generate({ model: CHAT, prompt: 'a', suffix: 'b', raw, stream: true }));
      expect(err.name).toBe('ResponseError');
      expect(err.status_code).toBe(400);
      expect(err.message).toContain('does not support insert');
      expect(err.message).toBe(`registry.ollama.ai/library/${CHAT} does not support insert`);
    }
    // Without a suffix the same model completes.
    expect((await client.generate({ model: CHAT, prompt: 'a' })).response).toBe('OK.');
  });

  it('refuses thinking, tools and generation to models without those capabilities', async () => {
    const think = await rejection(client.generate({ model: FIM, prompt: 'a', think: true }));
    expect([think.status_code, think.message]).toEqual([400, `"${FIM}" does not support thinking`]);
    const tool = { type: 'function', function: { name: 'f' } };
    const tools = await rejection(client.chat({ model: FIM, messages: [{ role: 'user', content: 'a' }], tools: [tool] }));
    expect([tools.status_code, tools.message]).toEqual([400, `registry.ollama.ai/library/${FIM} does not support tools`]);
    expect((await client.chat({ model: CHAT, messages: [{ role: 'user', content: 'a' }], tools: [tool] })).message.content).toBe('OK.');
    stub.setModel({ name: 'embedder', capabilities: ['embedding'] });
    const generate = await rejection(client.generate({ model: 'embedder', prompt: 'a' }));
    expect([generate.status_code, generate.message]).toEqual([400, '"embedder" does not support generate']);
  });

  it('reads faults at request time, so a test can flip them', async () => {
    const model = stub.model(FIM)!;
    model.fault = 'no-insert';
    const err = await rejection(client.generate({ model: FIM, prompt: 'a', suffix: 'b' }));
    expect(err.status_code).toBe(400);
    expect(err.message).toBe(OLLAMA_ERRORS.noInsert(FIM));
    delete model.fault;
    expect((await client.generate({ model: FIM, prompt: 'a', suffix: 'b' })).response).toBe('return 42;');
  });

  it('answers 404 for an unknown model on generate, chat and show', async () => {
    const generate = await rejection(client.generate({ model: 'missing:7b', prompt: 'x', stream: true }));
    expect([generate.status_code, generate.message]).toEqual([404, "model 'missing:7b' not found"]);
    const chat = await rejection(client.chat({ model: 'missing:7b', messages: [{ role: 'user', content: 'x' }] }));
    expect(chat.status_code).toBe(404);
    const show = await rejection(client.show({ model: 'missing:7b' }));
    expect([show.status_code, show.message]).toEqual([404, "model 'missing:7b' not found"]);
  });

  it("makes a model with the 'not-found' fault absent everywhere until the fault is cleared", async () => {
    stub.model(FIM)!.fault = 'not-found';
    expect((await rejection(client.generate({ model: FIM, prompt: 'x' }))).status_code).toBe(404);
    expect((await client.list()).models.map((m) => m.name)).toEqual([CHAT]);
    stub.model(FIM)!.fault = undefined;
    expect((await client.list()).models).toHaveLength(2);
  });

  it('answers server-error with 500 and queue-full with 503, in Ollama words', async () => {
    stub.model(FIM)!.fault = 'server-error';
    const crash = await rejection(client.generate({ model: FIM, prompt: 'x', stream: true }));
    expect([crash.status_code, crash.message]).toEqual([500, 'llama runner process has terminated: exit status 2']);
    stub.model(FIM)!.fault = 'queue-full';
    const busy = await rejection(client.chat({ model: FIM, messages: [{ role: 'user', content: 'x' }] }));
    expect([busy.status_code, busy.message]).toEqual([503, 'server busy, please try again.  maximum pending requests exceeded']);
    expect(stub.requests.map((r) => [r.status, r.completed])).toEqual([
      [500, false],
      [503, false],
    ]);
  });

  it('fails mid-stream: a 200 whose stream carries an error line after one or two chunks', async () => {
    stub.model(FIM)!.fault = 'mid-stream-error';
    const iterator = await client.generate({ model: FIM, prompt: 'function add(', suffix: '}', stream: true });
    const received: GenerateResponse[] = [];
    const err = await rejection(
      (async () => {
        for await (const chunk of iterator) received.push(chunk);
      })(),
    );
    expect(err.message).toBe('an error was encountered while running the model: unexpected EOF');
    expect(received.length).toBeGreaterThanOrEqual(1);
    expect(received.length).toBeLessThanOrEqual(2);
    await stub.waitFor((r) => r[0]?.endedAt !== undefined);
    expect(stub.requests[0]).toMatchObject({ status: 200, completed: false, aborted: false, chunksSent: received.length + 1 });

    // Without streaming the same failure is a 500.
    const whole = await rejection(client.generate({ model: FIM, prompt: 'x' }));
    expect(whole.status_code).toBe(500);
  });
});

describe('aborts, hangs and outages', () => {
  it('records a hanging request that the client aborts with fetch, and sends it nothing', async () => {
    stub.model(FIM)!.fault = 'hang';
    const controller = new AbortController();
    const pending = post('/api/generate', { model: FIM, prompt: 'x' }, { signal: controller.signal });
    await stub.waitFor((r) => r[0]?.body !== undefined);
    controller.abort();
    expect((await rejection(pending)).name).toBe('AbortError');
    await stub.waitFor((r) => r[0]!.aborted);
    expect(stub.requests[0]).toMatchObject({ aborted: true, completed: false, chunksSent: 0 });
    expect(stub.requests[0]!.status).toBeUndefined();
    expect(stub.requests[0]!.endedAt).toBeGreaterThanOrEqual(stub.requests[0]!.startedAt);
  });

  it('lets the ollama client give up on a hang only through its own fetch (no headers ever arrive)', async () => {
    stub.model(FIM)!.fault = 'hang';
    const controller = new AbortController();
    const bound = new Ollama({ host: url, fetch: (input, init) => fetch(input, { ...init, signal: controller.signal }) });
    const pending = bound.generate({ model: FIM, prompt: 'x', stream: true });
    await stub.waitFor((r) => r[0]?.body !== undefined);
    controller.abort();
    expect((await rejection(pending)).name).toBe('AbortError');
    await stub.waitFor((r) => r[0]!.aborted);
  });

  it('stops generating when the ollama iterator is aborted mid-stream', async () => {
    stub.setModel({ name: 'slow', defaultAnswer: 'one two three four five six seven eight', latency: { perTokenMs: 30 } });
    const iterator = await client.generate({ model: 'slow', prompt: 'x', stream: true });
    const received: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const chunk of iterator) {
          received.push(chunk.response ?? '');
          if (received.length === 2) iterator.abort();
        }
      })(),
    );
    expect(err.name).toBe('AbortError');
    await stub.waitFor((r) => r[0]!.aborted);
    const sentAtAbort = stub.requests[0]!.chunksSent;
    await sleep(120); // several token intervals: nothing more may be written
    expect(stub.requests[0]).toMatchObject({ aborted: true, completed: false, chunksSent: sentAtAbort });
    expect(sentAtAbort).toBeLessThan(tokenize('one two three four five six seven eight').length + 1);
  });

  it('goes down (ECONNREFUSED, in-flight requests cut) and comes back on the same port', async () => {
    stub.setModel({ name: 'slow', defaultAnswer: 'a b c d e f', latency: { firstTokenMs: 5, perTokenMs: 50 } });
    const inflight = post('/api/generate', { model: 'slow', prompt: 'x' }).then((r) => r.text());
    await stub.waitFor((r) => (r[0]?.chunksSent ?? 0) > 0);
    await stub.goDown();
    expect(await rejection(inflight)).toBeInstanceOf(Error);
    const down = await rejection(fetch(`${url}/api/version`));
    expect(down.cause?.code).toBe('ECONNREFUSED');
    await stub.waitFor((r) => r[0]!.aborted);

    await stub.comeBack();
    expect(stub.url).toBe(url);
    expect(await client.version()).toEqual({ version: '0.13.0' });
  });
});

describe('latency', () => {
  it('waits firstTokenMs before the first chunk (headers included) and perTokenMs between chunks', async () => {
    stub.setModel({ name: 'timed', defaultAnswer: { text: '', tokens: ['a', 'b', 'c', 'd'] }, latency: { firstTokenMs: 60, perTokenMs: 25 } });
    const started = performance.now();
    const iterator = await client.generate({ model: 'timed', prompt: 'x', stream: true });
    const headersAfter = performance.now() - started;
    const arrivals: number[] = [];
    for await (const chunk of iterator) if (!chunk.done) arrivals.push(performance.now() - started);
    // Loose lower bounds only (timers may fire a millisecond early; never assert upper bounds).
    expect(headersAfter).toBeGreaterThanOrEqual(55);
    expect(arrivals).toHaveLength(4);
    expect(arrivals[0]).toBeGreaterThanOrEqual(55);
    expect(arrivals[3]! - arrivals[0]!).toBeGreaterThanOrEqual(3 * 25 - 10);
    expect(arrivals[3]).toBeGreaterThanOrEqual(60 + 3 * 25 - 10);
  });

  it('delays a stream:false answer by the whole generation time', async () => {
    stub.setModel({ name: 'timed', defaultAnswer: 'a b', latency: { firstTokenMs: 40, perTokenMs: 20 } });
    const started = performance.now();
    expect((await client.generate({ model: 'timed', prompt: 'x' })).response).toBe('a b');
    expect(performance.now() - started).toBeGreaterThanOrEqual(40 + 2 * 20 - 5);
  });
});

describe('/api/chat', () => {
  it('streams message chunks matched on the messages, then a done line with metrics', async () => {
    const iterator = await client.chat({
      model: CHAT,
      messages: [
        { role: 'system', content: 'You explain code.' },
        { role: 'user', content: 'Explain add()' },
      ],
      stream: true,
    });
    const chunks: ChatResponse[] = await collect(iterator);
    expect(chunks.filter((c) => !c.done).map((c) => c.message.content).join('')).toBe('It adds.');
    expect(chunks.every((c) => c.message.role === 'assistant')).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'stop', message: { content: '' } });
    expect(chunks.at(-1)!.eval_count).toBe(tokenize('It adds.').length);
    expect(stub.chatRequests(CHAT)).toHaveLength(1);
    expect(stub.generateRequests()).toHaveLength(0);
  });

  it('keeps generate-only conditions off chat and answers no messages with a load', async () => {
    // promptIncludes never matches chat, even if a message contains the text.
    const answer = await client.chat({ model: FIM, messages: [{ role: 'user', content: 'function add(' }] });
    expect(answer.message).toEqual({ role: 'assistant', content: 'return 42;' });
    expect(await client.chat({ model: FIM, messages: [] })).toMatchObject({ done_reason: 'load', message: { role: 'assistant', content: '' } });
  });
});

describe('/api/show', () => {
  it('reports capabilities, a template with {{ .Suffix }} iff the model can insert, and model info', async () => {
    const fim = await client.show({ model: FIM });
    expect(fim.capabilities).toEqual(['completion', 'insert']);
    expect(fim.template).toContain('{{ .Suffix }}');
    expect(fim.template).toContain('<|fim_prefix|>');
    expect(fim.details.family).toBe('qwen2');
    expect((fim.model_info as unknown as Record<string, unknown>)['general.architecture']).toBe('qwen2');
    expect(fim.parameters).toContain('stop');
    expect(fim.modelfile).toContain(`# FROM ${FIM}`);

    const chat = await client.show({ model: CHAT });
    expect(chat.capabilities).toEqual(['completion', 'tools']);
    expect(chat.template).not.toContain('.Suffix');
  });

  it('derives families from names unless given', async () => {
    stub.setModel({ name: 'starcoder2:3b' });
    stub.setModel({ name: 'codellama:7b-code' });
    stub.setModel({ name: 'deepseek-coder-v2:16b' });
    stub.setModel({ name: 'codegemma:2b' });
    stub.setModel({ name: 'custom:1b', family: 'mine' });
    const families = await Promise.all(['starcoder2:3b', 'codellama:7b-code', 'deepseek-coder-v2:16b', 'codegemma:2b', 'custom:1b'].map(async (m) => (await client.show({ model: m })).details.family));
    expect(families).toEqual(['starcoder2', 'llama', 'deepseek2', 'gemma', 'mine']);
    expect((await client.show({ model: 'starcoder2:3b' })).template).toContain('<fim_prefix>');
  });
});

describe('/api/pull', () => {
  it('streams progress ending in success, after which the model is installed', async () => {
    const progress: ProgressResponse[] = await collect(await client.pull({ model: 'starcoder2:3b', stream: true }));
    const statuses = progress.map((p) => p.status);
    expect(statuses[0]).toBe('pulling manifest');
    expect(statuses.slice(-3)).toEqual(['verifying sha256 digest', 'writing manifest', 'success']);
    const layers = progress.filter((p) => p.digest);
    expect(new Set(layers.map((p) => p.digest)).size).toBe(2);
    for (const digest of new Set(layers.map((p) => p.digest))) {
      const steps = layers.filter((p) => p.digest === digest);
      expect(steps[0]!.status).toBe(`pulling ${digest.slice('sha256:'.length, 'sha256:'.length + 12)}`);
      const completed = steps.map((p) => p.completed ?? 0);
      expect(completed).toEqual([...completed].sort((a, b) => a - b));
      expect(completed.at(-1)).toBe(steps[0]!.total);
    }
    expect(stub.requests[0]).toMatchObject({ model: 'starcoder2:3b', completed: true });
    expect((await client.list()).models.map((m) => m.name)).toContain('starcoder2:3b');
    expect((await client.generate({ model: 'starcoder2:3b', prompt: 'def f():' })).response).toBe('pass');
  });

  it('answers stream:false with the final status', async () => {
    expect(await client.pull({ model: 'starcoder2:3b' })).toEqual({ status: 'success' });
    expect(stub.model('starcoder2:3b')).toBeDefined();
  });

  it('fails for a name the registry does not know, as Ollama does', async () => {
    const iterator = await client.pull({ model: 'nonexistent:1b', stream: true });
    const err = await rejection(collect(iterator));
    expect(err.message).toBe('pull model manifest: file does not exist');
    expect((await client.list()).models.map((m) => m.name)).not.toContain('nonexistent:1b');
    const whole = await rejection(client.pull({ model: 'nonexistent:1b' }));
    expect([whole.status_code, whole.message]).toEqual([500, 'pull model manifest: file does not exist']);
  });
});

describe('the record', () => {
  it('keeps every request in arrival order, filters by endpoint and model, and resets', async () => {
    await client.list();
    await client.generate({ model: FIM, prompt: 'a' });
    await client.generate({ model: CHAT, prompt: 'b' });
    await client.chat({ model: CHAT, messages: [{ role: 'user', content: 'c' }] });
    expect(stub.requests.map((r) => r.path)).toEqual(['/api/tags', '/api/generate', '/api/generate', '/api/chat']);
    expect(stub.requests.map((r) => r.id)).toEqual([...stub.requests.map((r) => r.id)].sort((a, b) => a - b));
    expect(stub.generateRequests().map((r) => r.model)).toEqual([FIM, CHAT]);
    expect(stub.generateRequests(FIM.toUpperCase())).toHaveLength(1);
    expect(stub.chatRequests(CHAT)[0]!.body.messages[0].content).toBe('c');
    stub.reset();
    expect(stub.requests).toEqual([]);
  });

  it('waitFor rejects after its timeout with the requests seen so far', async () => {
    await client.generate({ model: FIM, prompt: 'a' });
    const err = await rejection(stub.waitFor((r) => r.length > 5, 50));
    expect(err.message).toContain('within 50 ms');
    expect(err.message).toContain(`POST /api/generate model=${FIM} status=200`);
  });

  it('removes models at run time', async () => {
    stub.removeModel(CHAT);
    expect(stub.model(CHAT)).toBeUndefined();
    expect((await client.list()).models.map((m) => m.name)).toEqual([FIM]);
  });
});

describe('the CLI', () => {
  const fixture = fileURLToPath(new URL('../support/stub-fixtures/fim-models.json', import.meta.url));

  it('starts from a config file, prints where it listens, and answers', async () => {
    let out = '';
    const cli = await main(['--port', '0', '--config', fixture], { stdout: { write: (t: string) => (out += t) }, stderr: process.stderr });
    try {
      expect(out).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
      const cliClient = new Ollama({ host: cli.url });
      expect((await cliClient.list()).models.map((m) => m.name)).toEqual(['qwen2.5-coder:1.5b-base', 'starcoder2:3b', 'llama3.2:3b']);
      const answer = await cliClient.generate({ model: 'qwen2.5-coder:1.5b-base', prompt: '// greet\n', logprobs: true });
      expect(answer.response).toBe("console.log('hello');");
      expect(answer.logprobs?.[7]?.logprob).toBe(-0.6);
    } finally {
      await cli.stop();
    }
  });

  it('accepts a bare array of models, logs requests with --log, and rejects bad input', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ollama-stub-'));
    try {
      const config = join(dir, 'models.json');
      await writeFile(config, JSON.stringify([{ name: 'tiny:1b', defaultAnswer: 'x' }]));
      let log = '';
      const cli = await main(['--port', '0', '--config', config, '--log'], { stdout: { write: () => true }, stderr: { write: (t: string) => (log += t) } });
      try {
        await new Ollama({ host: cli.url }).generate({ model: 'tiny:1b', prompt: 'p' });
        await cli.waitFor((r) => r[0]?.endedAt !== undefined);
        expect(log).toMatch(/#1 POST \/api\/generate model=tiny:1b status=200 chunks=1 completed/);
      } finally {
        await cli.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(() => parseConfig([{ defaultAnswer: 'no name' }])).toThrow(/needs a name/);
    await expect(main(['--port', 'abc'])).rejects.toThrow(/--port/);
    await expect(main(['--bogus'])).rejects.toThrow();
    await expect(main(['--help'], { stdout: { write: () => true }, stderr: { write: () => true } })).rejects.toBeInstanceOf(CliExit);
  });
});
