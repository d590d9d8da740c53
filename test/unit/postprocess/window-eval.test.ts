/**
 * How often the syntax check's small window decides like a parse of the whole file, and what it costs. Opt-in
 * (XENCODE_EVAL=1): it parses the whole file twice per sample. Samples: a cursor in a real file, the real text that
 * follows it as the answer, or that text spoiled (an extra `}`, its end cut off, a stray line appended).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { countSyntaxErrors, languageByName, parse } from '../../../server/documents/syntax.js';
import { CODE_STATE } from '../../../server/engine/postprocess/scan.js';
import { SyntaxChecker } from '../../../server/engine/postprocess/syntax-check.js';
import { lineWindow } from '../../../server/engine/postprocess/syntax-window.js';

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const pct = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

describe.runIf(process.env.XENCODE_EVAL)('syntax window evaluation', () => {
  it('agrees with a parse of the whole file', () => {
    const lang = languageByName(process.env.XENCODE_EVAL_LANG ?? 'typescript')!;
    const src = readFileSync(process.env.XENCODE_EVAL_FILE ?? 'node_modules/zod/src/v3/types.ts', 'utf8');
    const lines = src.split('\n');
    const lineStart: number[] = [];
    let o = 0;
    for (const l of lines) {
      lineStart.push(o);
      o += l.length + 1;
    }
    const rand = rng(Number(process.env.XENCODE_EVAL_SEED ?? 42));
    const N = Number(process.env.XENCODE_EVAL_N ?? 300);
    let show = Number(process.env.XENCODE_EVAL_SHOW ?? 0);
    let agree = 0, total = 0, acceptedWorse = 0, rejectedFine = 0, skeleton = 0, sane = 0, saneAgree = 0;
    const times: number[] = [], sizes: number[] = [];
    for (let s = 0; s < N; s++) {
      const L = 1 + Math.floor(rand() * (lines.length - 10));
      const k = 1 + Math.floor(rand() * 5);
      const kind = Math.floor(rand() * 3);
      const cursor =
        kind === 0 ? lineStart[L]! - 1
        : kind === 1 ? lineStart[L]! + (lines[L]!.length - lines[L]!.trimStart().length)
        : lineStart[L]! + Math.floor(rand() * lines[L]!.length);
      const chunkEnd = lineStart[Math.min(L + k, lines.length - 1)]! - 1;
      if (chunkEnd <= cursor) continue;
      const real = src.slice(cursor, chunkEnd);
      const mutation = Math.floor(rand() * 5);
      let answer = real;
      if (mutation === 1) answer = real + '\n}';
      else if (mutation === 2) answer = real.slice(0, Math.max(1, real.length - 1 - Math.floor(rand() * 5)));
      else if (mutation === 3) answer = real + '\n' + lines[Math.floor(rand() * lines.length)]!;
      else if (mutation === 4) answer = real.slice(0, Math.floor(rand() * real.length));
      if (answer.trim() === '') continue;
      const prefixFull = src.slice(0, cursor);
      const suffixFull = src.slice(chunkEnd);
      const base = countSyntaxErrors(parse(lang, prefixFull + suffixFull)!.rootNode);
      const withAnswer = countSyntaxErrors(parse(lang, prefixFull + answer + suffixFull)!.rootNode);
      const truth = withAnswer <= base;
      // The windows the engine hands over: about 4,000 characters before the cursor and 2,000 after, whole lines.
      const prefix = prefixFull.slice(Math.max(0, prefixFull.lastIndexOf('\n', Math.max(0, cursor - 4000)) + 1));
      const suffixEnd = suffixFull.indexOf('\n', 2000);
      const suffix = suffixFull.slice(0, suffixEnd === -1 ? suffixFull.length : suffixEnd);

      const t0 = performance.now();
      const checker =
        process.env.XENCODE_EVAL_MODE === 'lines'
          ? new SyntaxChecker(lang, prefix, suffix, { before: lineWindow(prefix, suffix).before, skeleton: false, openBlocks: 0, state: CODE_STATE, closers: '', indents: [] })
          : new SyntaxChecker(lang, prefix, suffix);
      const { ok, excess } = checker.check(answer);
      times.push((performance.now() - t0) * 1000);
      const window = checker.window(0);
      sizes.push(window.before.length + window.after.length);
      if (window.skeleton) skeleton++;
      total++;
      if (base <= 3) {
        sane++;
        if (ok === truth) saneAgree++;
      }
      if (ok === truth) agree++;
      else {
        if (ok) acceptedWorse++;
        else rejectedFine++;
        if (base <= 3 && show-- > 0) {
          console.log(`--- truth ${truth} (file: ${base} -> ${withAnswer}), window: ${excess} more errors\n${window.before}<<<${answer}>>>${window.after}\n`);
        }
      }
    }
    times.sort((a, b) => a - b);
    sizes.sort((a, b) => a - b);
    console.log(
      `agree ${agree}/${total} (${((100 * agree) / total).toFixed(1)}%); where the file without the answer has ≤ 3 errors: ` +
        `${saneAgree}/${sane} (${((100 * saneAgree) / sane).toFixed(1)}%); accepted but worse ${acceptedWorse}, rejected but fine ${rejectedFine}; ` +
        `skeleton ${skeleton}/${total}\nµs per window + base parse + answer parse: p50 ${pct(times, 0.5).toFixed(0)} p90 ${pct(times, 0.9).toFixed(0)} ` +
        `p99 ${pct(times, 0.99).toFixed(0)}; window chars p50 ${pct(sizes, 0.5)} p90 ${pct(sizes, 0.9)} max ${sizes[sizes.length - 1]}`,
    );
    expect(total).toBeGreaterThan(0);
  }, 600_000);
});
