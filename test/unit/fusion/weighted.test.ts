import { describe, expect, it } from 'vitest';
import { similarity } from '../../../server/engine/fusion/similarity.js';
import type { FusionCandidate } from '../../../server/engine/fusion/types.js';
import { weighted } from '../../../server/engine/fusion/weighted.js';
import { c } from './candidates.js';

const AGREED = 'return items.filter((item) => item.active);';
const OTHER = 'return items.length > 0 ? items[0] : null;';

describe('weighted', () => {
  it('abstains with no candidates and answers a single candidate with itself', () => {
    expect(weighted([])).toBeNull();
    expect(weighted([c('m', 'x')])).toEqual({ text: 'x', method: 'weighted', rule: 'single', agreeing: ['m'], score: 1 });
  });

  it('with equal weights, the majority wins, scored Σ w·sim / Σ w', () => {
    const result = weighted([c('a', AGREED), c('b', OTHER), c('c', AGREED)]);
    expect(result?.text).toBe(AGREED);
    expect(result?.rule).toBe('similarity');
    expect(result?.agreeing).toEqual(['a', 'c']);
    expect(result?.score).toBeCloseTo((2 + similarity(AGREED, OTHER)) / 3, 12);
  });

  it('lets a heavy model override two light ones that agree', () => {
    const result = weighted([c('light1', AGREED, 1), c('heavy', OTHER, 5), c('light2', AGREED, 1)]);
    expect(result?.text).toBe(OTHER);
    expect(result?.agreeing).toEqual(['heavy']);
    expect(result?.score).toBeCloseTo((5 + 2 * similarity(AGREED, OTHER)) / 7, 12);
  });

  it('prefers the candidate closest to all the others, not only to its twins', () => {
    // The middle candidate shares most with both ends, although none agree exactly.
    const result = weighted([c('a', 'const x = compute(a, b);'), c('b', 'const x = compute(a, c);'), c('c', 'const y = compute(a, c, d);')]);
    expect(result?.text).toBe('const x = compute(a, c);');
  });

  it('breaks a tie by weight, then by speed', () => {
    expect(weighted([c('a', 'left()', 1, 10), c('b', 'right()', 1.5, 900)])?.text).toBe('right()');
    expect(weighted([c('a', 'left()', 1, 90), c('b', 'right()', 1, 10)])?.text).toBe('right()');
    expect(weighted([c('a', 'left()', 1, 10), c('b', 'right()', 1, 90)])?.text).toBe('left()');
  });

  it('mixes in confidence when every candidate has logprobs, which can change the winner', () => {
    const candidates = [c('a', AGREED, 1, 100, Math.log(0.05)), c('b', AGREED, 1, 100, Math.log(0.05)), c('c', OTHER, 1, 100, Math.log(0.99))];
    expect(weighted(candidates)?.text).toBe(AGREED);
    expect(weighted(candidates, { confidenceWeight: 0 })?.text).toBe(AGREED);
    const mixed = weighted(candidates, { confidenceWeight: 0.8 });
    expect(mixed?.text).toBe(OTHER);
    expect(mixed?.rule).toBe('similarity+confidence');
    expect(mixed?.score).toBeCloseTo(0.2 * ((1 + 2 * similarity(AGREED, OTHER)) / 3) + 0.8 * 0.99, 12);
  });

  it('does not mix confidence when some candidate lacks logprobs', () => {
    const candidates = [c('a', AGREED, 1, 100), c('b', AGREED, 1, 100, Math.log(0.05)), c('c', OTHER, 1, 100, Math.log(0.99))];
    const result = weighted(candidates, { confidenceWeight: 0.8 });
    expect(result?.text).toBe(AGREED);
    expect(result?.rule).toBe('similarity');
  });

  it('reports agreement from agreeThreshold', () => {
    const near = 'return items.filter((item) => item.isActive);';
    expect(weighted([c('a', AGREED), c('b', near), c('c', OTHER)])?.agreeing).toEqual(['a', 'b']);
    expect(weighted([c('a', AGREED), c('b', near), c('c', OTHER)], { agreeThreshold: 0.99 })?.agreeing).toHaveLength(1);
  });
});
