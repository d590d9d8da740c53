/**
 * Start-up and memory, seen from the editor: the time from spawning `xencode --stdio` to the `initialize` result,
 * and the server's resident memory with 50 open 2,000-line TypeScript files (each parsed and kept with its tree).
 *
 *   npm run build && node dist/bench/startup.js [--runs 10] [--files 50]
 *
 * Budgets (DESIGN.md): start-up to the initialize result <= 300 ms; RSS <= 150 MB with 50 open 2,000-line files.
 * The files are 2,000-line slices of zod's types.ts (a real 5,136-line file), each made distinct. Writes
 * bench/results/startup.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../server/paths.js';
import { LspClient } from '../test/support/lsp-client.js';
import { OllamaStub } from '../test/support/ollama-stub.js';
import { markdownTable, ms, summarize } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, files: { type: 'string', default: '50' } } });
const RUNS = Number(values.runs);
const FILES = Number(values.files);
const LINES = readFileSync(join(PACKAGE_ROOT, 'node_modules', 'zod', 'src', 'v3', 'types.ts'), 'utf8').split('\n');
const MODEL = 'qwen2.5-coder:1.5b-base';

const stub = new OllamaStub({ models: [{ name: MODEL, defaultAnswer: 'x;' }] });
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
for (let i = 0; i < FILES; i++) {
  const start = (i * 61) % (LINES.length - 2000);
  const text = [`// file ${i}`, ...LINES.slice(start, start + 1999)].join('\n');
  await client.open(`file:///bench/file${i}.ts`, text);
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
  ],
);
const report = `# Start-up and memory

\`node dist/bench/startup.js --runs ${RUNS} --files ${FILES}\` on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.
Start-up is measured from spawning \`node dist/server/cli.js --stdio\` to the initialize result (module loading
included). Memory is the server process's VmRSS with ${FILES} distinct 2,000-line TypeScript files open (slices of
zod's types.ts), each with its tree-sitter tree.

${table}
`;
process.stdout.write(`${table}\n`);
mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', 'startup.md'), report);
