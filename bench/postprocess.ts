/**
 * Micro-benchmark of the post-processing pipeline on real TypeScript (zod's 5,000-line src/v3/types.ts).
 * Not a test: times are printed, never asserted. Two kinds of completion:
 *   write — the cursor on a fresh line where a run of whole, bracket-balanced lines of the file was taken out (the
 *           code the user is about to write, the rest of the file intact); the answer is those lines, in a quarter
 *           of the cases followed by a stop token and junk, in another quarter by a copy of the next line;
 *   fim   — the cursor anywhere in a line, any middle of 1–4 lines taken out (often unbalanced, so the code around
 *           the cursor is broken without it, the hard case for the syntax check); the answer is the middle plus
 *           up to two more lines of the file, sometimes a stop token and junk.
 * The windows are what the engine hands over: about 4,000 characters before the cursor and 2,000 after.
 * Each candidate of a context gets fresh strings; candidates after the first share the prefix/suffix (as the
 * candidates of one completion do), so their numbers show what the per-context memo saves.
 *
 *   npm run build && node dist/bench/postprocess.js [file] [language]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { languageByName } from '../server/documents/syntax.js';
import { postprocess } from '../server/engine/postprocess/pipeline.js';
import { looseBrackets } from '../server/engine/postprocess/scan.js';
import type { FilterContext } from '../server/engine/postprocess/types.js';

export interface BenchCase {
  readonly answer: string;
  readonly context: FilterContext;
}

export const DEFAULT_FILE = 'node_modules/zod/src/v3/types.ts';

function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

function contextAt(before: string, after: string, stopTokens: readonly string[], language: string): FilterContext {
  const cursor = before.length;
  const prefix = before.slice(Math.max(0, before.lastIndexOf('\n', Math.max(0, cursor - 4000)) + 1));
  const end = after.indexOf('\n', 2000);
  const suffix = after.slice(0, end === -1 ? after.length : end);
  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  const nl = suffix.indexOf('\n');
  const lineSuffix = nl === -1 ? suffix : suffix.slice(0, nl);
  return {
    prefix,
    suffix,
    linePrefix,
    lineSuffix,
    indent: /^[ \t]*/.exec(linePrefix)![0],
    stopTokens,
    syntax: languageByName(language),
  };
}

export function benchCases(kind: 'write' | 'fim', source: string, language = 'typescript', count = 500): BenchCase[] {
  const lines = source.split('\n');
  const starts: number[] = [];
  let offset = 0;
  for (const line of lines) {
    starts.push(offset);
    offset += line.length + 1;
  }
  const rand = random(kind === 'write' ? 5 : 11);
  const stop = ['<|endoftext|>'];
  const cases: BenchCase[] = [];
  for (let tries = 0; cases.length < count && tries < count * 50; tries++) {
    const L = 5 + Math.floor(rand() * (lines.length - 20));
    const k = 1 + Math.floor(rand() * 4);
    if (kind === 'write') {
      const chunk = lines.slice(L, L + k);
      if (chunk[0]!.trim() === '' || chunk.some((l) => /^\s*(\/\/|\/\*|\*)/.test(l))) continue;
      const balance = looseBrackets(chunk.join('\n'));
      if (balance.openers.length > 0 || balance.closers.length > 0) continue;
      const indent = /^\s*/.exec(chunk[0]!)![0];
      const before = lines.slice(0, L).join('\n') + '\n' + indent;
      const after = '\n' + lines.slice(L + k).join('\n');
      let answer = chunk.join('\n').slice(indent.length);
      const r = rand();
      if (r < 0.25) answer += '<|endoftext|>\nexport const junk = 1;';
      else if (r < 0.5) answer += '\n' + lines[L + k]!;
      cases.push({ answer, context: contextAt(before, after, stop, language) });
    } else {
      const line = lines[L]!;
      const cursor = starts[L]! + Math.floor(rand() * (line.length + 1));
      const end = starts[Math.min(L + k, lines.length - 1)]! - 1;
      if (end <= cursor) continue;
      const extra = Math.floor(rand() * 3);
      let answer = source.slice(cursor, starts[Math.min(L + k + extra, lines.length - 1)]! - 1);
      if (rand() < 0.3) answer += '<|endoftext|>junk';
      cases.push({ answer, context: contextAt(source.slice(0, cursor), source.slice(end), stop, language) });
    }
  }
  return cases;
}

const fresh = (s: string): string => (' ' + s).slice(1);

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** µs per `postprocess` call: each context once with `candidates` candidates. */
export function measure(cases: readonly BenchCase[], candidates: number): { p50: number; p90: number; p99: number; calls: number } {
  const times: number[] = [];
  for (const c of cases) {
    const context = { ...c.context, prefix: fresh(c.context.prefix), suffix: fresh(c.context.suffix) };
    for (let j = 0; j < candidates; j++) {
      const answer = j === 0 ? c.answer : c.answer + ' '.repeat(j); // a different answer, the same context
      const t0 = process.hrtime.bigint();
      postprocess(answer, context);
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p90: percentile(times, 0.9), p99: percentile(times, 0.99), calls: times.length };
}

export function runBenchmark(file = DEFAULT_FILE, language = 'typescript'): string {
  const source = readFileSync(file, 'utf8');
  const rows: string[] = [`post-processing, µs per call (${file}, ${source.split('\n').length} lines)`, 'kind   candidates/context   calls     p50     p90     p99'];
  for (const kind of ['write', 'fim'] as const) {
    const cases = benchCases(kind, source, language);
    measure(cases.slice(0, 100), 1); // warm up
    for (const candidates of [1, 3]) {
      const m = measure(cases, candidates);
      rows.push(
        `${kind.padEnd(6)} ${String(candidates).padStart(18)} ${String(m.calls).padStart(8)} ${m.p50.toFixed(0).padStart(7)} ${m.p90.toFixed(0).padStart(7)} ${m.p99.toFixed(0).padStart(7)}`,
      );
    }
  }
  return rows.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(runBenchmark(process.argv[2], process.argv[3]));
}
