/**
 * Start-up and memory, seen from the editor: the time from spawning `xencode --stdio` to the `initialize` result,
 * the server's resident memory with 50 open 2,000-line TypeScript files (each parsed and kept with its tree), and
 * its memory under load: 2,000 completions in 60 s spread over those files, a share cancelled, edits between them,
 * against a stand-in model that answers at once with a different answer each time (so the answer cache fills).
 *
 *   npm run build && node dist/bench/startup.js [--runs 10] [--files 50] [--load-completions 2000] [--load-seconds 60]
 *
 * Budgets (DESIGN.md): start-up to the initialize result <= 300 ms; RSS <= 150 MB with 50 open 2,000-line files,
 * at rest and under load. The files are 2,000-line slices of zod's types.ts (a real 5,136-line file), each made
 * distinct. Writes bench/results/startup.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MemoryStats } from '../server/memory-stats.js';
import { PACKAGE_ROOT } from '../server/paths.js';
import { LspClient } from '../test/support/lsp-client.js';
import { OllamaStub, type StubModel } from '../test/support/ollama-stub.js';
import { driveLoad, type LoadDocument } from './memory-load.js';
import { markdownTable, ms, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    files: { type: 'string', default: '50' },
    // Shorter loads for quick runs during development; the defaults are the budget's case.
    'load-completions': { type: 'string', default: '2000' },
    'load-seconds': { type: 'string', default: '60' },
    'quiet-seconds': { type: 'string', default: '5' },
  },
});
const RUNS = Number(values.runs);
const FILES = Number(values.files);
const LOAD_COMPLETIONS = Number(values['load-completions']);
const LOAD_SECONDS = Number(values['load-seconds']);
const QUIET_SECONDS = Number(values['quiet-seconds']);
const BUDGET_MB = 150;
const LINES = readFileSync(join(PACKAGE_ROOT, 'node_modules', 'zod', 'src', 'v3', 'types.ts'), 'utf8').split('\n');
const MODEL = 'qwen2.5-coder:1.5b-base';

const model: StubModel = { name: MODEL, defaultAnswer: 'x;' };
const stub = new OllamaStub({ models: [model] });
await stub.start();
const settings = { xencode: { ollama: { host: stub.url }, models: [MODEL] } };

// Start-up: spawn to the initialize result (the process is started inside the timed span).
const startup: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const started = performance.now();
  const client = new LspClient();
  await client.initialize(settings);
  startup.push(performance.now() - started);
  await client.shutdown();
}

function budget(value: number): string {
  return `${BUDGET_MB} MB (${value <= BUDGET_MB ? 'met' : 'not met'})`;
}

/** Resident memory of a process, from /proc (Linux), in MB. */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

// Memory: open the files, wait until the server has handled them (a request after the notifications), measure.
const client = new LspClient();
await client.initialize(settings);
const pid = client.process.pid!;
const idle = rssMb(pid);
const docs: LoadDocument[] = [];
for (let i = 0; i < FILES; i++) {
  const start = (i * 61) % (LINES.length - 2000);
  const lines = [`// file ${i}`, ...LINES.slice(start, start + 1999)];
  docs.push({ uri: `file:///bench/file${i}.ts`, lines });
  await client.open(`file:///bench/file${i}.ts`, lines.join('\n'));
}
await client.executeCommand('xencode.stats');
const opened = rssMb(pid);
// At rest: the server collects dropped trees once the editor has been quiet for a second.
await new Promise((r) => setTimeout(r, 1500));
const rested = rssMb(pid);
// One completion per file, so context, hash and cache have run everywhere.
for (let i = 0; i < FILES; i++) await client.completion(`file:///bench/file${i}.ts`, { line: 1000, character: 0 });
const afterCompletions = rssMb(pid);
await new Promise((r) => setTimeout(r, 1500));
const restedAfterCompletions = rssMb(pid);

// Under load. RSS is sampled from /proc; the server's own figures (xencode.stats memory) tell V8's heap from the
// rest (trees, LMDB, malloc), at the end and after the quiet period.
let peak = 0;
const before = (await client.executeCommand('xencode.stats')).completions as Completions;
const load = await driveLoad(client, model, stub, docs, {
  completions: LOAD_COMPLETIONS,
  seconds: LOAD_SECONDS,
  cancelShare: 0.2,
  editShare: 0.3,
  maxOutstanding: 4,
  sampleMs: 100,
  sample: () => (peak = Math.max(peak, rssMb(pid))),
});
const loadEnd = rssMb(pid);
const loadEndMemory = (await client.executeCommand('xencode.stats')).memory as MemoryStats;
await new Promise((r) => setTimeout(r, QUIET_SECONDS * 1000));
const quiet = rssMb(pid);
const quietStats = await client.executeCommand('xencode.stats');
const quietMemory = quietStats.memory as MemoryStats;
type Completions = { answered: number; empty: number; aborted: number };
const after = quietStats.completions as Completions;
const done = { answered: after.answered - before.answered, empty: after.empty - before.empty, aborted: after.aborted - before.aborted };
peak = Math.max(peak, loadEnd);
await client.shutdown();
await stub.stop();

const s = summarize(startup);
const table = markdownTable(
  ['measure', 'value', 'budget'],
  [
    [`start-up to initialize result, p50 of ${RUNS}`, ms(s.p50), '300 ms'],
    [`start-up, max of ${RUNS}`, ms(s.max), ''],
    ['RSS, initialized, no document', `${idle.toFixed(0)} MB`, ''],
    [`RSS, ${FILES} open 2,000-line files, right after opening`, `${opened.toFixed(0)} MB`, ''],
    [`RSS, ${FILES} open 2,000-line files, at rest (1.5 s later)`, `${rested.toFixed(0)} MB`, '150 MB'],
    [`RSS, right after a completion in each`, `${afterCompletions.toFixed(0)} MB`, ''],
    [`RSS, after a completion in each, at rest`, `${restedAfterCompletions.toFixed(0)} MB`, '150 MB'],
    [`RSS under load (${LOAD_COMPLETIONS} completions over ${LOAD_SECONDS} s), peak`, `${peak.toFixed(0)} MB`, budget(peak)],
    [`RSS at the end of the load`, `${loadEnd.toFixed(0)} MB`, budget(loadEnd)],
    [`RSS ${QUIET_SECONDS} s after the load`, `${quiet.toFixed(0)} MB`, budget(quiet)],
    [`V8 heap used / reserved at the end of the load`, `${loadEndMemory.heapUsedMb.toFixed(0)} / ${loadEndMemory.heapTotalMb.toFixed(0)} MB`, ''],
    [`V8 heap used / reserved ${QUIET_SECONDS} s after`, `${quietMemory.heapUsedMb.toFixed(0)} / ${quietMemory.heapTotalMb.toFixed(0)} MB`, ''],
  ],
);
const report = `# Start-up and memory

\`node dist/bench/startup.js --runs ${RUNS} --files ${FILES} --load-completions ${LOAD_COMPLETIONS} --load-seconds ${LOAD_SECONDS}\` on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.
Start-up is measured from spawning \`node dist/server/cli.js --stdio\` to the initialize result (module loading
included). Memory is the server process's VmRSS with ${FILES} distinct 2,000-line TypeScript files open (slices of
zod's types.ts), each with its tree-sitter tree (the 16 most recently used keep theirs).

The load: ${load.sent} completions at the end of random lines of random files, paced over ${LOAD_SECONDS} s (it took
${load.seconds.toFixed(0)} s; at most 4 waiting at once), ${load.cancelled} of them cancelled right after being sent, ${load.edits} edits between
them (half typing the start of the answer just shown). The stand-in model answers at once, each time with a different
answer of one to six lines. The server answered ${done.answered} (${load.answered} items reached the client; the others had been cancelled),
post-processing dropped ${done.empty} (the syntax check or the indentation-scope filter: a canned answer does not fit every line), ${done.aborted} were aborted in flight. After it: ${quietStats.cache.entries} answers in the cache's memory tier
(${(quietStats.cache.memoryBytes / 1048576).toFixed(1)} MB estimated), ${quietMemory.trees} trees held, V8's young generation ${quietMemory.youngGenerationMb} MB.

${table}
`;
process.stdout.write(`${table}\n`);
mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', 'startup.md'), report);
