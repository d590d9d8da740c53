import { describe, expect, it } from 'vitest';
import { FUSION_METHODS, consensus, fuse, isFusionMethod, rover, vote, weighted, type FusionCandidate, type FusionMethod } from '../../../server/engine/fusion/index.js';
import { c, SUM, ONE, ACC, MAJORITY } from './candidates.js';

describe('fuse', () => {
  const candidates = [c('m1', SUM, 1.2, 80), c('m2', ONE, 1, 120), c('m3', ACC, 0.8, 60)];

  it('dispatches to the named method', () => {
    expect(fuse('vote', candidates)).toEqual(vote(candidates));
    expect(fuse('weighted', candidates, { confidenceWeight: 0.3 })).toEqual(weighted(candidates, { confidenceWeight: 0.3 }));
    expect(fuse('consensus', candidates, { threshold: 0.9 })).toEqual(consensus(candidates, { threshold: 0.9 }));
    expect(fuse('vote', candidates)?.method).toBe('vote');
  });

  it('refuses an unknown method', () => {
    expect(() => fuse('hybrid' as FusionMethod, candidates)).toThrow(RangeError);
    expect(FUSION_METHODS.filter(isFusionMethod)).toEqual(['vote', 'weighted', 'consensus']);
    expect(isFusionMethod('rover')).toBe(false);
  });

  it('refines a whole-candidate answer with ROVER, backbone and fallback being the method\'s answer', () => {
    const fused = fuse('weighted', candidates, { rover: true });
    expect(fused).toMatchObject({ method: 'rover', rule: 'fused', text: MAJORITY });
    const fallback = fuse('vote', candidates, { rover: { parsesNoWorse: () => false } });
    expect(fallback).toMatchObject({ method: 'rover', rule: 'fallback', text: vote(candidates)!.text });
  });

  it('keeps an abstention and a consensus prefix as they are', () => {
    const disagree = [c('a', 'foo();'), c('b', 'bar(1);'), c('c', 'baz = 2;')];
    expect(fuse('consensus', disagree, { rover: true })).toBeNull();
    const prefixCase = [c('a', 'x = 1;\ny = compute(alpha);'), c('b', 'x = 1;\ny = compute(beta, gamma);'), c('c', 'z();')];
    expect(fuse('consensus', prefixCase, { rover: true })).toEqual(consensus(prefixCase));
    expect(fuse('consensus', prefixCase, { rover: true })?.rule).toBe('prefix');
  });
});

describe('determinism', () => {
  // Distinct weights and latencies: no tie is left to input order, so any permutation gives the same answer.
  const texts = [
    'for (const item of items) {\n  total += item.price;\n}',
    'for (const item of items) {\n  total += item.cost;\n}',
    'for (const it of items) {\n  total += it.price;\n}',
    'items.forEach((item) => {\n  total += item.price;\n});',
    'for (const item of items) {\n  total += item.price * item.qty;\n}',
  ];
  const candidates = texts.map((t, i) => c(`m${i}`, t, 1 + i * 0.1, 50 + i * 7, -0.1 - i * 0.2));
  const runs: [string, (cs: readonly FusionCandidate[]) => unknown][] = [
    ['vote', (cs) => vote(cs)],
    ['weighted', (cs) => weighted(cs, { confidenceWeight: 0.3 })],
    ['consensus', (cs) => consensus(cs, { threshold: 0.9 })],
    ['rover', (cs) => rover(cs, { alpha: 0.7 })],
  ];

  it.each(runs)('%s gives the same result on every call', (_name, run) => {
    const first = run(candidates);
    for (let k = 0; k < 5; k++) expect(run(candidates)).toEqual(first);
  });

  it.each(runs)('%s gives the same text whatever the input order', (_name, run) => {
    const first = run(candidates) as { text: string } | null;
    const permutations = [[4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 4, 0, 3, 2]];
    for (const order of permutations) {
      const result = run(order.map((i) => candidates[i]!)) as { text: string } | null;
      expect(result?.text).toBe(first?.text);
    }
  });
});
