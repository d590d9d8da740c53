/**
 * TCP connections per completion, and what a new one costs, against the Ollama stand-in on loopback.
 *
 *   npm run build && node dist/bench/connections.js [--calls 300] [--idle 3]
 *
 * The stand-in sends the end of each streamed body after its done line, in a write of its own, as Ollama does
 * (Go's net/http ends the chunked body when the handler returns). Each completion is one OllamaBackend.complete()
 * of a short answer, its signal aborted once it is answered (as the ensemble aborts its calls when it decides),
 * then a pause as between keystrokes. Measured:
 * 1. the round trip of a completion (complete() called → answer) on a reused connection, and on a new connection
 *    for every completion (`Connection: close`, which is what closing each answer at its done line cost);
 * 2. connections opened per 100 completions: one after another with a pause; back to back; superseded (each
 *    aborted mid-answer, as a keystroke aborts the completion before it); after an idle pause longer than Node's
 *    fetch keeps an idle connection (4 s).
 * Writes bench/results/connections.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FimRequest } from '../server/models/backend.js';
import { OllamaBackend } from '../server/models/ollama-backend.js';
import { PACKAGE_ROOT } from '../server/paths.js';
import { OllamaStub } from '../test/support/ollama-stub.js';
import { markdownTable, ms, summarize, type Summary } from './stats.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '300' }, idle: { type: 'string', default: '3' } } });
const CALLS = Number(values.calls);
const IDLE_CALLS = Number(values.idle);
const MODEL = 'qwen2.5-coder:1.5b-base';
const SLOW = 'slow-coder:1.5b-base';
const PAUSE_MS = 5;
/** Longer than undici's default keepAliveTimeout (4 s), which Node's global fetch uses. */
const IDLE_MS = 4500;

const stub = new OllamaStub({
  endApartMs: 0,
  models: [
    { name: MODEL, defaultAnswer: 'return a + b;' },
    { name: SLOW, defaultAnswer: 'return a + b;', latency: { firstTokenMs: 0, perTokenMs: 5 } },
  ],
});
await stub.start();

const request = (signal: AbortSignal): FimRequest => ({ prefix: 'function add(a, b) {\n  ', suffix: '\n}\n', maxTokens: 32, signal });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A new connection for every request: the server closes each one after its answer. */
const closingFetch: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), Connection: 'close' } });

interface Run {
  times: Summary;
  perHundred: number;
}

async function sequential(options: { fresh?: boolean; pauseMs: number; calls: number }): Promise<Run> {
  const backend = new OllamaBackend({ model: MODEL, host: stub.url, keepAlive: '30m', ...(options.fresh ? { fetch: closingFetch } : {}) });
  // The first call asks /api/show too; it warms the JIT and is not counted.
  await backend.complete(request(new AbortController().signal));
  await sleep(options.pauseMs);
  stub.reset();
  const times: number[] = [];
  for (let i = 0; i < options.calls; i++) {
    const controller = new AbortController();
    const t = performance.now();
    await backend.complete(request(controller.signal));
    times.push(performance.now() - t);
    controller.abort();
    if (options.pauseMs) await sleep(options.pauseMs);
  }
  return { times: summarize(times), perHundred: (stub.connectionsOpened / options.calls) * 100 };
}

async function superseded(calls: number): Promise<Run> {
  const backend = new OllamaBackend({ model: SLOW, host: stub.url, keepAlive: '30m' });
  await backend.complete(request(new AbortController().signal));
  stub.reset();
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const controller = new AbortController();
    const t = performance.now();
    const pending = backend.complete(request(controller.signal)).catch(() => undefined);
    // The next keystroke arrives once the answer has started.
    await stub.waitFor((requests) => requests.some((r) => r.path === '/api/generate' && r.endedAt === undefined && r.chunksSent > 0));
    controller.abort();
    await pending;
    times.push(performance.now() - t);
    await stub.waitFor((requests) => requests.every((r) => r.endedAt !== undefined));
  }
  return { times: summarize(times), perHundred: (stub.connectionsOpened / calls) * 100 };
}

process.stderr.write('round trips…\n');
const reused = await sequential({ pauseMs: PAUSE_MS, calls: CALLS });
const fresh = await sequential({ fresh: true, pauseMs: PAUSE_MS, calls: CALLS });
process.stderr.write('back to back, superseded…\n');
const backToBack = await sequential({ pauseMs: 0, calls: CALLS });
const cut = await superseded(Math.min(CALLS, 100));
process.stderr.write(`idle pauses (${IDLE_CALLS} × ${IDLE_MS / 1000} s)…\n`);
const idle = IDLE_CALLS > 0 ? await sequential({ pauseMs: IDLE_MS, calls: IDLE_CALLS }) : undefined;
await stub.stop();

const timing = (name: string, s: Summary) => [name, String(s.n), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max)];
const timingTable = markdownTable(
  ['completion round trip', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
  [timing('reused connection', reused.times), timing('new connection each time (`Connection: close`)', fresh.times)],
);
const count = (name: string, run: Run, note: string) => [name, String(run.times.n), run.perHundred.toFixed(0), note];
const countTable = markdownTable(
  ['completions', 'n', 'connections per 100', 'why'],
  [
    count(`one after another, ${PAUSE_MS} ms apart`, reused, "each answer's body ends by itself and its connection goes back to the pool"),
    count('back to back', backToBack, "the same; a call that starts while the previous body's end is on its way may open a second"),
    count('superseded mid-answer', cut, 'unavoidable: closing the connection is the only way to stop a generation (HTTP/1.1)'),
    ...(idle ? [count(`after ${IDLE_MS / 1000} s idle`, idle, "past Node's fetch keep-alive (4 s) the pooled connection is gone")] : []),
    count(`new connection each time`, fresh, 'the baseline: what closing each answer at its done line cost'),
  ],
);
const saved = fresh.times.p50 - reused.times.p50;
const report = `# Connections to Ollama

Each completion: \`OllamaBackend.complete()\` of a short answer (6 tokens) from the Ollama stand-in on loopback,
which answers at once and, as Ollama does, ends each streamed body in a write of its own after the done line; the
caller's signal is aborted once the answer is in, as the ensemble does. ${CALLS} completions per row (the first
call, which also asks /api/show, is not counted, nor are the connections it opened).

${timingTable}

A new connection costs ${ms(saved)} ms per completion at the median on loopback (TCP handshake and undici's connect);
to a remote Ollama it costs a network round trip more. The tails (p90 and up) are other work on the machine, not
connections: they move from run to run either way.

${countTable}

- Before this change every completion's HTTP request was closed right after its done line, before the end of
  the body had arrived, and its connection with it. This benchmark on the parent commit's backend (77ddff2),
  same machine: 94 connections per 100 completions one after another, 82 back to back (the race is lost whenever
  the end of the body arrives in a later read than the done line, nearly always).
- Ollama's server sets no idle timeout (Go's http.Server without IdleTimeout keeps idle connections forever);
  the 4 s limit is the client's: undici's default keepAliveTimeout, which Node's global fetch uses.
- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.

Command: \`npm run build && node dist/bench/connections.js --calls ${CALLS} --idle ${IDLE_CALLS}\`
`;
mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', 'connections.md'), report);
console.log(report);
