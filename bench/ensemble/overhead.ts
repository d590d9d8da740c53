/**
 * Ensemble overhead: wall time of one completion per method, with three stand-in models of known latency, against
 * the same completion asked of each model alone. The engine runs in process with its real Ollama backends over
 * HTTP to the stand-in, so the times include everything but the editor's JSON-RPC.
 */
import { validateSettings } from '../../server/config.js';
import { DocumentStore } from '../../server/documents/document-store.js';
import { createEngine } from '../../server/engine/engine.js';
import { silentLogger } from '../../server/log.js';
import { OllamaStub, type StubModel } from '../../test/support/ollama-stub.js';
import { markdownTable, ms, summarize, type Summary } from '../stats.js';

const SOURCE = 'export function combine(a: number, b: number): number {\n  return \n}\n';
const OFFSET = SOURCE.indexOf('return ') + 'return '.length;

interface Scenario {
  readonly title: string;
  readonly models: readonly { name: string; firstTokenMs: number; answer: string }[];
}

const SCENARIOS: readonly Scenario[] = [
  {
    title: 'models of 50 / 120 / 300 ms; the two fastest agree',
    models: [
      { name: 'fast:1b', firstTokenMs: 50, answer: 'a + b;' },
      { name: 'mid:3b', firstTokenMs: 120, answer: 'a + b;' },
      { name: 'slow:7b', firstTokenMs: 300, answer: 'Math.max(a, b);' },
    ],
  },
  {
    title: 'models of 50 / 50 / 300 ms; the two fast ones agree',
    models: [
      { name: 'fast:1b', firstTokenMs: 50, answer: 'a + b;' },
      { name: 'fast2:1b', firstTokenMs: 50, answer: 'a + b;' },
      { name: 'slow:7b', firstTokenMs: 300, answer: 'Math.max(a, b);' },
    ],
  },
];

const METHODS = [
  { label: 'hybrid', ensemble: { method: 'hybrid' } },
  { label: 'vote', ensemble: { method: 'vote' } },
  { label: 'weighted', ensemble: { method: 'weighted' } },
  { label: 'consensus', ensemble: { method: 'consensus' } },
  { label: 'weighted + rover', ensemble: { method: 'weighted', rover: true } },
] as const;

async function timeCompletions(stub: OllamaStub, models: readonly string[], ensemble: Record<string, unknown>, rounds: number): Promise<Summary> {
  const { settings } = validateSettings({ ollama: { host: stub.url }, models: [...models], ensemble: { deadlineMs: 5000, ...ensemble } }, {});
  const engine = createEngine({ settings, notifier: { warn() {}, info() {} }, logger: silentLogger });
  const store = new DocumentStore();
  const doc = store.open('file:///bench/combine.ts', 'typescript', 1, SOURCE);
  const times: number[] = [];
  for (let i = 0; i <= rounds; i++) {
    const started = performance.now();
    const outcome = await engine.complete(doc, OFFSET, new AbortController().signal);
    // The first call learns capabilities (/api/show, /api/version): not counted.
    if (i > 0) times.push(performance.now() - started);
    if (outcome.kind !== 'answer' && ensemble.method !== 'consensus') throw new Error(`no answer from ${models.join(', ')} (${outcome.kind})`);
  }
  return summarize(times);
}

export async function runOverheadBenchmark(rounds = 20): Promise<string> {
  const sections: string[] = [];
  for (const scenario of SCENARIOS) {
    const stubModels: StubModel[] = scenario.models.map((m) => ({
      name: m.name,
      // Modest confidence: HYBRID must find agreement, not trust one model.
      defaultAnswer: { text: m.answer, logprobs: Array(16).fill(-1) },
      latency: { firstTokenMs: m.firstTokenMs, perTokenMs: 2 },
    }));
    const stub = new OllamaStub({ models: stubModels });
    await stub.start();
    const singles = new Map<string, Summary>();
    for (const m of scenario.models) singles.set(m.name, await timeCompletions(stub, [m.name], { method: 'weighted' }, rounds));
    const fastest = Math.min(...[...singles.values()].map((s) => s.p50));
    const slowest = Math.max(...[...singles.values()].map((s) => s.p50));
    const rows: string[][] = [];
    for (const [name, s] of singles) rows.push([`${name} alone`, ms(s.p50), ms(s.p90), (s.p50 / slowest).toFixed(2), (s.p50 / fastest).toFixed(2)]);
    for (const method of METHODS) {
      const s = await timeCompletions(stub, scenario.models.map((m) => m.name), method.ensemble, rounds);
      rows.push([method.label, ms(s.p50), ms(s.p90), (s.p50 / slowest).toFixed(2), (s.p50 / fastest).toFixed(2)]);
      stub.reset();
    }
    await stub.stop();
    sections.push(`### ${scenario.title}\n\n${markdownTable(['asked', 'p50 ms', 'p90 ms', '× slowest', '× fastest'], rows)}`);
  }
  return `## Overhead (wall time per completion)

Three stand-in models with the first-token latencies below (then 2 ms a token), the engine in process with its
real Ollama backends over HTTP; ${rounds} completions per row after one warm-up. Budgets (DESIGN.md): every
method ≤ 1.1 × the slowest model alone; HYBRID with two agreeing fast models ≤ 1.1 × the fastest alone.

${sections.join('\n\n')}
`;
}
