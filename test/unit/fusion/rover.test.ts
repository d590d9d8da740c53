import { describe, expect, it } from 'vitest';
import { rover } from '../../../server/engine/fusion/rover.js';
import { similarity } from '../../../server/engine/fusion/similarity.js';
import type { FusionCandidate, FusionResult } from '../../../server/engine/fusion/types.js';
import { weighted } from '../../../server/engine/fusion/weighted.js';
import { c, SUM, ONE, ACC, MAJORITY } from './candidates.js';

describe('rover', () => {
  it('fuses into the per-slot majority, a text no model produced', () => {
    const candidates = [c('m1', SUM), c('m2', ONE), c('m3', ACC)];
    const result = rover(candidates);
    expect(result?.text).toBe(MAJORITY);
    expect(result?.method).toBe('rover');
    expect(result?.rule).toBe('fused');
    expect(candidates.map((x) => x.text)).not.toContain(MAJORITY);
    // Agreeing: similarity to the fused text ≥ 0.9. `sum` for `total` is 5 edits of 47 characters (0.89).
    expect(similarity(SUM, MAJORITY)).toBeLessThan(0.9);
    expect(similarity(ACC, MAJORITY)).toBeGreaterThanOrEqual(0.9);
    expect(result?.agreeing).toEqual(['m2', 'm3']);
  });

  it('lets the empty token win a slot: what only a minority inserted is dropped', () => {
    const result = rover([c('a', 'return x.map(f).filter(g);'), c('b', 'return y.map(f);'), c('c', 'return x.map(h);')]);
    expect(result?.text).toBe('return x.map(f);');
    expect(result?.rule).toBe('fused');
  });

  it('keeps line breaks and indentation when fusing multi-line candidates', () => {
    const result = rover([
      c('a', 'if (a) {\n  foo(1);\n  bar();\n}'),
      c('b', 'if (a) {\n  foo(2);\n}'),
      c('c', 'if (a) {\n  foo(2);\n  bar();\n  baz();\n}'),
    ]);
    expect(result?.text).toBe('if (a) {\n  foo(2);\n  bar();\n}');
  });

  it('votes with model weights', () => {
    const result = rover([c('m1', SUM, 3), c('m2', ONE), c('m3', ACC)]);
    expect(result?.text).toBe(SUM);
  });

  it('mixes confidence into the slot score with alpha', () => {
    const lowA = Math.log(0.2);
    const candidates = [c('m1', SUM, 1, 100, lowA), c('m2', ONE, 1, 100, lowA), c('m3', ACC, 1, 100, Math.log(0.95))];
    // Frequency alone: the per-slot majority.
    expect(rover(candidates, { alpha: 1 })?.text).toBe(MAJORITY);
    // Half confidence: m3's confident tokens win the slots where only m3 has them (0.5/3 + 0.5·0.95 > 0.5·2/3 + 0.5·0.2).
    expect(rover(candidates, { alpha: 0.5 })?.text).toBe(ACC);
  });

  it('ignores confidences unless every candidate has one', () => {
    const candidates = [c('m1', SUM, 1, 100), c('m2', ONE, 1, 100, Math.log(0.2)), c('m3', ACC, 1, 100, Math.log(0.95))];
    expect(rover(candidates, { alpha: 0.1 })?.text).toBe(MAJORITY);
  });

  it('keeps the fused text when it parses no worse, and says which texts it compared', () => {
    const calls: [string, string][] = [];
    const candidates = [c('m1', SUM), c('m2', ONE), c('m3', ACC)];
    const result = rover(candidates, {
      parsesNoWorse: (fused, best) => {
        calls.push([fused, best]);
        return true;
      },
    });
    expect(result?.text).toBe(MAJORITY);
    expect(calls).toEqual([[MAJORITY, weighted(candidates)!.text]]);
  });

  it('falls back to the best whole candidate when the fused text parses worse', () => {
    const candidates = [c('m1', SUM), c('m2', ONE), c('m3', ACC)];
    const best = weighted(candidates)!;
    const result = rover(candidates, { parsesNoWorse: () => false });
    expect(result).toEqual({ text: best.text, method: 'rover', rule: 'fallback', agreeing: best.agreeing, score: best.score });
    expect(result?.text).not.toBe(MAJORITY);
  });

  it('uses the given base as backbone and fallback', () => {
    const candidates = [c('m1', SUM), c('m2', ONE), c('m3', ACC)];
    const base: FusionResult = { text: ACC, method: 'vote', rule: 'medoid', agreeing: ['m3'], score: 0.5 };
    expect(rover(candidates, { base, parsesNoWorse: () => false })).toEqual({ ...base, method: 'rover', rule: 'fallback' });
    expect(rover(candidates, { base })?.text).toBe(MAJORITY);
  });

  it('returns a base that is not a whole candidate (a consensus prefix) unchanged', () => {
    const base: FusionResult = { text: 'const', method: 'consensus', rule: 'prefix', agreeing: ['m1', 'm2'], score: 2 / 3 };
    expect(rover([c('m1', SUM), c('m2', ONE), c('m3', ACC)], { base })).toBe(base);
  });

  it('says when fusion changed nothing', () => {
    const result = rover([c('a', MAJORITY), c('b', SUM), c('c', MAJORITY)]);
    expect(result).toMatchObject({ text: MAJORITY, rule: 'backbone', agreeing: ['a', 'c'] });
  });

  it('takes spacing from a holder whose previous token was emitted just before', () => {
    // The backbone writes `yield(value)`; the majority drops the brackets, so `value` follows `yield`: its spacing
    // comes from m2, where `value` follows `yield` too.
    const candidates = [c('m1', 'yield(value);'), c('m2', 'yield  value;'), c('m3', 'yield other;')];
    const base: FusionResult = { text: 'yield(value);', method: 'weighted', rule: 'similarity', agreeing: ['m1'], score: 0.7 };
    expect(rover(candidates, { base })?.text).toBe('yield  value;');
  });

  it('never glues two words together when no holder\'s spacing fits', () => {
    // Both holders of `value` had a bracket before it; the brackets lose their slot to the empty token.
    const candidates = [c('m1', 'yield(value);'), c('m2', 'yield[value];'), c('m3', 'yield other;'), c('m4', 'yield more;')];
    const base: FusionResult = { text: 'yield(value);', method: 'weighted', rule: 'similarity', agreeing: ['m1'], score: 0.7 };
    expect(rover(candidates, { base })?.text).toBe('yield value;');
  });

  it('aligns long candidates that differ at both ends (a large middle, aligned in a band)', () => {
    const lines = Array.from({ length: 30 }, (_, k) => `  const v${k} = compute${k}(input, ${k});`);
    const variant = (changed: number[], extra?: number) =>
      lines
        .flatMap((line, k) => (k === extra ? [line, ...Array.from({ length: 5 }, (_, e) => `  log(input, ${e});`)] : [line]))
        .map((line, k) => (changed.includes(k) ? line.replace('compute', 'other') : line))
        .join('\n');
    const original = lines.join('\n');
    // Each line has at most one dissenter; c3 also inserts five lines (35 tokens) nobody else has.
    const candidates = [
      c('c1', variant([0, 29])),
      c('c2', variant([1, 28])),
      c('c3', variant([2, 27], 20)),
      c('c4', variant([14, 15])),
    ];
    expect(candidates.map((x) => x.text)).not.toContain(original);
    const result = rover(candidates);
    expect(result?.text).toBe(original);
    expect(result?.rule).toBe('fused');
  });

  it('answers a single candidate with itself and abstains with none', () => {
    expect(rover([c('m', 'x();')])).toEqual({ text: 'x();', method: 'rover', rule: 'single', agreeing: ['m'], score: 1 });
    expect(rover([])).toBeNull();
  });
});
