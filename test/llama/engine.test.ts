// The fetched engine itself (scripts/fetch-debian.mjs --only llama.cpp): Debian's llama-server and ggml-rpc-server
// serve the project's tiny models the way the llama.cpp backend relies on: /infill renders FIM with the extra
// context, a fixed seed is reproducible across server starts, two models differ, closing the connection frees the
// slot, and layers split over RPC servers give the local answer. The text is gibberish; only behaviour is asserted.
import { afterEach, describe, expect, it } from 'vitest';
import {
  slotsBusy,
  startLlamaServer,
  startRpcServer,
  tinyModel,
  type LlamaServerOptions,
  type RunningProcess,
} from '../support/llama.js';

const running: RunningProcess[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

async function server(options: LlamaServerOptions) {
  const started = await startLlamaServer(options);
  running.push(started);
  return started;
}

async function rpcServer() {
  const started = await startRpcServer();
  running.push(started);
  return started;
}

interface Completion {
  readonly content: string;
  readonly tokens_predicted: number;
  readonly prompt: string;
}

async function post(host: string, path: string, body: object): Promise<Completion> {
  const res = await fetch(`${host}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as Completion;
}

/** Greedy: the same model gives the same text on any server, local or split over RPC. */
const greedy = { prompt: 'function add(a, b) {', n_predict: 16, ignore_eos: true, temperature: 0, top_k: 1 };

/** Polls until `check` holds; fails after `timeoutMs` (a bound for a stuck server, not a timing assertion). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the fetched llama-server', () => {
  it('answers /infill with the FIM prompt rendered from prefix, suffix and extra context', async () => {
    const { host } = await server({ model: tinyModel(1) });
    const answer = await post(host, '/infill', {
      input_prefix: 'def area(r):\n    return ',
      input_suffix: '\n\nprint(area(2))\n',
      input_extra: [{ filename: 'geometry.py', text: 'PI_CONSTANT = 3.14159\n' }],
      n_predict: 8,
      temperature: 0,
    });
    expect(answer.tokens_predicted).toBeGreaterThan(0);
    expect(typeof answer.content).toBe('string');
    expect(answer.prompt).toContain('<|fim_prefix|>');
    expect(answer.prompt).toContain('<|fim_suffix|>');
    expect(answer.prompt).toContain('<|fim_middle|>');
    expect(answer.prompt).toContain('return');
    // Kept only because the test server runs with -b 512 (the default batch drops input_extra silently).
    expect(answer.prompt).toContain('PI_CONSTANT');
  });

  it('gives the same sampled text for the same seed across two server starts, and another for another seed', async () => {
    const model = tinyModel(1);
    const sampled = (seed: number) => ({ prompt: 'let x = ', n_predict: 24, ignore_eos: true, temperature: 0.8, seed });
    const first = await server({ model });
    const a = await post(first.host, '/completion', sampled(42));
    const other = await post(first.host, '/completion', sampled(7));
    await first.stop();
    const second = await server({ model });
    const b = await post(second.host, '/completion', sampled(42));
    expect(a.tokens_predicted).toBe(24);
    expect(b.content).toBe(a.content);
    expect(other.content).not.toBe(a.content);
  });

  it('answers differently with the tiny models of seeds 1 and 2', async () => {
    const [one, two] = await Promise.all([server({ model: tinyModel(1) }), server({ model: tinyModel(2) })]);
    const [a, b] = await Promise.all([post(one.host, '/completion', greedy), post(two.host, '/completion', greedy)]);
    expect(a.tokens_predicted).toBe(16);
    expect(b.tokens_predicted).toBe(16);
    expect(a.content).not.toBe(b.content);
  });

  it('stops a long streamed generation when the connection closes: every slot is idle again', async () => {
    const nPredict = 15_000;
    const { host } = await server({ model: tinyModel(1), slots: 2, args: ['-c', '32768'] });
    const abort = new AbortController();
    const res = await fetch(`${host}/completion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'once upon a time', n_predict: nPredict, ignore_eos: true, stream: true }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: \{/);
    expect(await slotsBusy(host)).toContain(true);

    abort.abort();
    await reader.cancel().catch(() => undefined);
    await eventually(async () => !(await slotsBusy(host)).includes(true), 'every slot idle after the connection closed');

    // Cancelled, not finished: far fewer tokens than asked for were generated.
    const metrics = await (await fetch(`${host}/metrics`)).text();
    const predicted = Number(/^llamacpp:tokens_predicted_total (\S+)/m.exec(metrics)?.[1] ?? NaN);
    expect(predicted).toBeLessThan(nPredict);
    // And the server goes on serving.
    expect((await post(host, '/completion', greedy)).tokens_predicted).toBe(16);
  });

  it('splits the layers over two ggml-rpc-servers and gives the same greedy text as locally', async () => {
    const model = tinyModel(1);
    const local = await server({ model });
    const expected = await post(local.host, '/completion', greedy);
    await local.stop();

    const [p1, p2] = await Promise.all([rpcServer(), rpcServer()]);
    const rpc = await server({ model, args: ['--rpc', `127.0.0.1:${p1.port},127.0.0.1:${p2.port}`, '-ngl', '99'] });
    const answer = await post(rpc.host, '/completion', greedy);
    expect(answer.content).toBe(expected.content);
    // The model really went to the RPC servers: llama-server connected to both.
    expect(p1.log()).toContain('Accepted client connection');
    expect(p2.log()).toContain('Accepted client connection');
  });
});
