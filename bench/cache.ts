/**
 * The answer cache, seen from the editor: hit round trips over stdio and the hit rate of a typing session.
 *
 *   npm run build && node dist/bench/cache.js [--lines 30]
 *
 * A typing session over zod's types.ts (a real 5,136-line TypeScript file): lines are erased and typed again one
 * character at a time with a completion after each keystroke. The stand-in model predicts half of the lines (it
 * answers the rest of the line from wherever the user is) and answers something else for the others. Then the
 * same positions are asked again (memory hits), and again after a restart (disk hits). Then the disk tier's lookup
 * alone, in process (decode and checksum included). Writes bench/results/cache.md. Budget (DESIGN.md): cache hit round trip p99 <= 2 ms; typing along a shown suggestion
 * makes no model call.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../server/paths.js';
import { AnswerCache, type CachedAnswer } from '../server/store/answer-cache.js';
import { openLmdbStore } from '../server/store/lmdb-store.js';
import { LspClient } from '../test/support/lsp-client.js';
import { OllamaStub, type StubRule } from '../test/support/ollama-stub.js';
import { markdownTable, ms, summarize } from './stats.js';
import { eraseLine, keystrokes, pickLines, type TypedLine } from './typing-replay.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '30' } } });
const SOURCE = readFileSync(join(PACKAGE_ROOT, 'node_modules', 'zod', 'src', 'v3', 'types.ts'), 'utf8');
const LINES = SOURCE.split('\n');
const URI = 'file:///bench/types.ts';
const MODEL = 'qwen2.5-coder:1.5b-base';
// Lines of the import block are left out: the model sees the imports with every prompt (the header), so a
// stand-in rule keyed on them would answer everywhere.
const typed = pickLines(SOURCE, Number(values.lines) + 2).filter((l) => l.line > 40).slice(0, Number(values.lines));

/** Rules that make the model answer the rest of a predicted line from any point in it (longest match first). */
function rulesFor(lines: readonly TypedLine[]): StubRule[] {
  const rules: StubRule[] = [];
  lines.forEach((line, i) => {
    if (i % 2 === 1) return; // every other line is not predicted
    const before = `${LINES[line.line - 1]}\n${LINES[line.line]!.slice(0, line.column)}`;
    for (let k = line.content.length - 1; k >= 0; k--)
      rules.push({ promptIncludes: before + line.content.slice(0, k), answer: line.content.slice(k) });
  });
  return rules;
}

const stub = new OllamaStub({ models: [{ name: MODEL, rules: rulesFor(typed), defaultAnswer: 'undefined;' }] });
await stub.start();
const dataDir = mkdtempSync(join(tmpdir(), 'xencode-bench-cache-'));
const modelCalls = () => stub.generateRequests(MODEL).filter((r) => r.body?.prompt).length;

async function startServer(): Promise<LspClient> {
  const client = new LspClient({ env: { XENCODE_DATA_DIR: dataDir, XENCODE_LOG: 'info' } });
  await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL] } });
  await client.waitFor(() => client.stderr.includes('answer cache on disk'), 15_000, 'the disk cache');
  return client;
}

interface Position {
  line: number;
  character: number;
  text: string; // the document at that position
}

// 1. The typing session.
let client = await startServer();
const positions: Position[] = [];
let typingRequests = 0;
const typingCallsBefore = modelCalls();
for (const line of typed) {
  let text = eraseLine(SOURCE, line);
  await client.open(URI, text);
  for (const key of keystrokes(SOURCE, line)) {
    await client.insert(URI, { line: key.line, character: key.character }, key.text);
    text = text.slice(0, key.offset) + key.text + text.slice(key.offset);
    await client.completion(URI, { line: key.line, character: key.character + key.text.length });
    typingRequests++;
    if (process.env.XENCODE_BENCH_DEBUG) process.stderr.write(`${line.line} ${JSON.stringify(key.text)} calls=${modelCalls()}\n`);
    positions.push({ line: key.line, character: key.character + key.text.length, text });
  }
  await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri: URI } });
}
const typingCalls = modelCalls() - typingCallsBefore;
const typingStats = (await client.executeCommand('xencode.stats')).cache;

// 2. The same positions again: memory hits. Each position is opened as its own document state; a cheap request
// after didOpen makes sure its parse is done before the completion is timed.
async function replay(c: LspClient, sample: readonly Position[]): Promise<number[]> {
  const times: number[] = [];
  for (const p of sample) {
    await c.open(URI, p.text);
    await c.executeCommand('xencode.stats');
    const calls = modelCalls();
    const t = performance.now();
    await c.completion(URI, { line: p.line, character: p.character });
    const elapsed = performance.now() - t;
    // Only answers served from the cache count: a position whose answer was empty was never cached.
    if (modelCalls() === calls) times.push(elapsed);
    await c.connection.sendNotification('textDocument/didClose', { textDocument: { uri: URI } });
  }
  return times;
}
const sample = positions.filter((_, i) => i % 3 === 0);
const callsBeforeMemory = modelCalls();
const memoryTimes = await replay(client, sample);
const memoryCalls = modelCalls() - callsBeforeMemory;
await client.shutdown();

// 3. After a restart: disk hits.
client = await startServer();
const callsBeforeDisk = modelCalls();
const diskTimes = await replay(client, sample);
const diskCalls = modelCalls() - callsBeforeDisk;
const diskStats = (await client.executeCommand('xencode.stats')).cache;
await client.shutdown();
await stub.stop();

// 4. The disk tier's lookup in process: a fresh cache (empty memory tier) on a store of 5,000 answers, so every get
// reads LMDB, decodes the record and verifies its checksum. Rounds of 5,000 lookups, each timed as a whole.
async function diskLookupUs(): Promise<number[]> {
  const lookupDir = mkdtempSync(join(tmpdir(), 'xencode-bench-lookup-'));
  const { store } = await openLmdbStore({ dataDir: lookupDir, probe: false });
  const keys = Array.from({ length: 5000 }, (_, i) => `${i.toString(16).padStart(8, '0')}${'f'.repeat(32)}`);
  const stored = (i: number): CachedAnswer => ({ text: 'return a + b;\n  '.repeat(1 + (i % 12)), model: MODEL, method: 'hybrid', rule: 'agree', agreeing: [MODEL], createdAt: 1 });
  const writer = new AnswerCache({ maxEntries: 100_000, store });
  keys.forEach((key, i) => writer.set(key, stored(i)));
  await writer.close();
  const rounds: number[] = [];
  for (let round = 0; round < 9; round++) {
    const reader = new AnswerCache({ maxEntries: 100_000, store });
    const t = performance.now();
    for (const key of keys) if (reader.get(key)?.tier !== 'disk') throw new Error('bench: expected a disk hit');
    rounds.push(((performance.now() - t) * 1000) / keys.length);
    await reader.close();
  }
  await store!.close();
  return rounds;
}
const lookupRounds = await diskLookupUs();
const lookup = summarize(lookupRounds);

const memory = summarize(memoryTimes);
const disk = summarize(diskTimes);
const pct = (n: number, d: number) => `${((100 * n) / Math.max(1, d)).toFixed(1)} %`;
const report = `# Answer cache

## Hit round trip over stdio (editor → server → editor)

${markdownTable(
  ['tier', 'hits', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'misses (model calls)', 'budget p99'],
  [
    ['memory (same server)', String(memory.n), ms(memory.p50), ms(memory.p90), ms(memory.p99), ms(memory.max), String(memoryCalls), '≤ 2'],
    ['disk (after a restart)', String(disk.n), ms(disk.p50), ms(disk.p90), ms(disk.p99), ms(disk.max), String(diskCalls), '≤ 2'],
  ],
)}

Each request re-opens the document state of that keystroke (didOpen, not timed), then asks for a completion at
the same position (timed): ${sample.length} positions from the session below; only hits are timed (a miss is a
position whose answer post-processing emptied, which is not cached). Server-side hit latency (lookup
only): memory+typed-ahead p50 ${typingStats.hitLatencyUs.p50.toFixed(1)} µs / p99 ${typingStats.hitLatencyUs.p99.toFixed(1)} µs; after the restart p50 ${diskStats.hitLatencyUs.p50.toFixed(1)} µs / p99 ${diskStats.hitLatencyUs.p99.toFixed(1)} µs.

## Disk-tier lookup in process

\`AnswerCache.get\` with an empty memory tier over 5,000 stored answers (LMDB read, msgpack decode, checksum), per
lookup, over 9 rounds: p50 ${lookup.p50.toFixed(2)} µs, best ${Math.min(...lookupRounds).toFixed(2)} µs, worst ${lookup.max.toFixed(2)} µs.

## Hit rate of a typing session

${typed.length} lines of \`zod/src/v3/types.ts\` erased and typed again, one character at a time, a completion after each
keystroke (${typingRequests} requests). The stand-in predicts every other line (it answers the rest of the line from
wherever the user is) and answers something unrelated for the others.

${markdownTable(
  ['', 'requests', 'share'],
  [
    ['answered without a model call', String(typingRequests - typingCalls), pct(typingRequests - typingCalls, typingRequests)],
    ['— typed-ahead (typing along the shown answer)', String(typingStats.typedAheadHits), pct(typingStats.typedAheadHits, typingRequests)],
    ['— memory / disk hits', `${typingStats.memoryHits} / ${typingStats.diskHits}`, pct(typingStats.memoryHits + typingStats.diskHits, typingRequests)],
    ['model calls', String(typingCalls), pct(typingCalls, typingRequests)],
  ],
)}

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.
Command: \`npm run build && node dist/bench/cache.js --lines ${values.lines}\`
`;
mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', 'cache.md'), report);
console.log(report);
