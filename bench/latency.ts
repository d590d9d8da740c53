/**
 * Latency of the server's own work per completion, replaying typing through a real 5,000-line TypeScript file
 * (zod's src/v3/types.ts, a dependency) against models that answer instantly.
 *
 *   npm run build && node dist/bench/latency.js [--lines 60]
 *
 * 1. In process: the engine alone (context, decision, post-processing, pick), with a backend that answers at
 *    once with the rest of the real line: the server's own work, budget p50 <= 1 ms, p99 <= 5 ms.
 * 2. Over stdio: the built `xencode --stdio` against the Ollama stand-in with zero latency, as an editor sees it
 *    (JSON-RPC, HTTP to the model included): budget p50 <= 3 ms, p99 <= 8 ms.
 * Also reported: the incremental reparse per keystroke (didChange), which is off the request path.
 * Writes bench/results/latency.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateSettings } from '../server/config.js';
import { DocumentStore } from '../server/documents/document-store.js';
import { createEngine } from '../server/engine/engine.js';
import { silentLogger } from '../server/log.js';
import type { ChatRequest, CompletionBackend, FimRequest } from '../server/models/backend.js';
import { PACKAGE_ROOT } from '../server/paths.js';
import { LspClient } from '../test/support/lsp-client.js';
import { OllamaStub } from '../test/support/ollama-stub.js';
import { markdownTable, ms, summarize, type Summary } from './stats.js';
import { eraseLine, keystrokes, pickLines } from './typing-replay.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '60' } } });
const LINE_COUNT = Number(values.lines);
const FILE = join(PACKAGE_ROOT, 'node_modules', 'zod', 'src', 'v3', 'types.ts');
const SOURCE = readFileSync(FILE, 'utf8');
const URI = 'file:///bench/types.ts';
const MODEL = 'qwen2.5-coder:1.5b-base';
const typedLines = pickLines(SOURCE, LINE_COUNT);

/** A model that answers at once with what the user is about to type (the rest of the line, then the next line). */
class InstantBackend implements CompletionBackend {
  readonly provider = 'ollama' as const;
  readonly model = MODEL;
  readonly host = 'in-process';
  answer = '';
  async complete(request: FimRequest) {
    request.signal.throwIfAborted();
    return { model: this.model, text: this.answer, latencyMs: 0, stopTokens: ['<|endoftext|>'] };
  }
  async chat(request: ChatRequest) {
    request.signal.throwIfAborted();
    return { model: this.model, text: this.answer, latencyMs: 0 };
  }
  async warm() {}
}

async function inProcess(cache: boolean): Promise<{ complete: Summary; reparse: Summary; answered: number }> {
  const backend = new InstantBackend();
  const { settings } = validateSettings({ models: [MODEL], cache: { enabled: cache } }, {});
  const engine = createEngine({ settings, notifier: { warn() {}, info() {} }, logger: silentLogger, createBackend: () => backend });
  const store = new DocumentStore();
  const completeTimes: number[] = [];
  const reparseTimes: number[] = [];
  let answered = 0;
  const lines = SOURCE.split('\n');
  for (let round = 0; round < 2; round++) {
    // Round 0 warms the JIT; only round 1 is measured.
    for (const typed of typedLines) {
      let text = eraseLine(SOURCE, typed);
      store.open(URI, 'typescript', 1, text);
      let version = 1;
      for (const key of keystrokes(SOURCE, typed)) {
        let t = performance.now();
        const doc = store.change(URI, ++version, [{ range: { start: { line: key.line, character: key.character }, end: { line: key.line, character: key.character } }, text: key.text }])!;
        if (round) reparseTimes.push(performance.now() - t);
        backend.answer = key.restOfLine + '\n' + (lines[typed.line + 1] ?? '');
        t = performance.now();
        const outcome = await engine.complete(doc, key.offset + key.text.length, new AbortController().signal);
        if (round) completeTimes.push(performance.now() - t);
        if (round && outcome.kind === 'answer') answered++;
        text = doc.textDocument.getText();
      }
      store.close(URI);
    }
  }
  return { complete: summarize(completeTimes), reparse: summarize(reparseTimes), answered };
}

async function overStdio(): Promise<{ roundTrip: Summary; answered: number; modelCalls: number }> {
  const stub = new OllamaStub({ models: [{ name: MODEL, defaultAnswer: 'value);' }] });
  await stub.start();
  const client = new LspClient({ env: { XENCODE_LOG: 'warn' } });
  await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL] } });
  const times: number[] = [];
  let answered = 0;
  for (let round = 0; round < 2; round++) {
    for (const typed of typedLines) {
      await client.open(URI, eraseLine(SOURCE, typed));
      for (const key of keystrokes(SOURCE, typed)) {
        await client.insert(URI, { line: key.line, character: key.character }, key.text);
        const t = performance.now();
        const list = await client.completion(URI, { line: key.line, character: key.character + key.text.length });
        if (round) {
          times.push(performance.now() - t);
          if (list.items.length) answered++;
        }
      }
      await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri: URI } });
    }
  }
  const modelCalls = stub.generateRequests(MODEL).length;
  await client.shutdown();
  await stub.stop();
  return { roundTrip: summarize(times), answered, modelCalls };
}

function row(name: string, s: Summary, budget: string): string[] {
  return [name, String(s.n), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), budget];
}

process.stderr.write('in process…\n');
// Without the cache every keystroke runs the whole path (context, decision, model call, post-processing, fusion);
// with it, typing along the answer is served from the typed-ahead tracker and the second round from the cache.
const local = await inProcess(false);
const cached = await inProcess(true);
process.stderr.write('over stdio…\n');
const stdio = await overStdio();
const header = ['measure', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'budget (p50 / p99)'];
const table = markdownTable(header, [
  row("server's own work per completion, cache off (in process)", local.complete, '≤ 1 / ≤ 5'),
  row("server's own work per completion, cache on (in process)", cached.complete, '≤ 1 / ≤ 5'),
  row('editor round trip over stdio, model time ≈ 0', stdio.roundTrip, '≤ 3 / ≤ 8'),
  row('didChange: incremental reparse per keystroke', local.reparse, '(off the request path)'),
]);
const report = `# Completion latency

Replay: ${typedLines.length} lines of \`zod/src/v3/types.ts\` (${SOURCE.split('\n').length} lines, a real TypeScript file) erased
and typed again one character at a time, a completion after every keystroke (${local.complete.n} completions per
measured round; a first round warms up and is not counted). Models answer instantly, so the times are Xencode's own.

${table}

- In process: engine.complete() with a backend that returns the rest of the real line plus the next line at once;
  answered ${local.answered} of ${local.complete.n} (the rest were skipped by the decision rule or emptied by post-processing).
  Cache on: the same replay, mostly answered by typed-ahead and cache hits.
- The stdio round trip includes the didChange that precedes each completion: the server applies it (and
  reparses) before it reads the completion request. Typing a method header character by character without
  auto-closed brackets makes tree-sitter's error recovery reparse the rest of the class: 40–80 ms on those
  keystrokes, which is the p90/p99 here.
- Over stdio: the built server, JSON-RPC over pipes, HTTP streaming to the Ollama stand-in (zero latency); answered
  ${stdio.answered} of ${stdio.roundTrip.n}; model calls: ${stdio.modelCalls} (both rounds; no cache yet).
- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.

Command: \`npm run build && node dist/bench/latency.js --lines ${LINE_COUNT}\`
`;
mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', 'latency.md'), report);
console.log(report);
