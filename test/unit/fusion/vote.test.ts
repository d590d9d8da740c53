import { describe, expect, it } from 'vitest';
import { similarity } from '../../../server/engine/fusion/similarity.js';
import type { FusionCandidate } from '../../../server/engine/fusion/types.js';
import { vote } from '../../../server/engine/fusion/vote.js';
import { c } from './candidates.js';

describe('vote', () => {
  it('abstains with no candidates and answers a single candidate with itself', () => {
    expect(vote([])).toBeNull();
    expect(vote([c('m', 'x + 1')])).toEqual({ text: 'x + 1', method: 'vote', rule: 'single', agreeing: ['m'], score: 1 });
  });

  it('takes the plurality even against a heavier, faster dissenter', () => {
    const result = vote([c('a', 'return a + b;', 1, 300), c('heavy', 'return a - b;', 5, 10), c('b', 'return a + b;', 1, 200)]);
    expect(result).toEqual({ text: 'return a + b;', method: 'vote', rule: 'plurality', agreeing: ['a', 'b'], score: 2 / 3 });
  });

  it('groups whitespace-only differences and answers with the representative\'s own formatting', () => {
    const result = vote([
      c('light', 'foo(a,  b);', 1, 10),
      c('other', 'bar();', 1, 10),
      c('heavy', 'foo(a,\n    b);', 2, 90),
    ]);
    expect(result?.rule).toBe('plurality');
    expect(result?.text).toBe('foo(a,\n    b);');
    expect(result?.agreeing).toEqual(['light', 'heavy']);
  });

  it('picks the representative by weight, then speed', () => {
    const result = vote([c('slow', 'x  =  1;', 1, 300), c('fast', 'x = 1;', 1, 20), c('mid', 'x =\n1;', 1, 100)]);
    expect(result?.text).toBe('x = 1;');
  });

  it('a larger group beats a heavier one', () => {
    const result = vote([c('a', 'one();'), c('b', 'one();'), c('c', 'one();'), c('d', 'two();', 5), c('e', 'two();', 5)]);
    expect(result?.text).toBe('one();');
    expect(result?.score).toBeCloseTo(3 / 5, 12);
  });

  it('breaks a tie between equal-sized groups by summed weight', () => {
    const result = vote([c('a', 'one();', 1, 10), c('b', 'one();', 1, 10), c('c', 'two();', 1, 50), c('d', 'two();', 1.5, 50)]);
    expect(result?.text).toBe('two();');
    expect(result?.agreeing).toEqual(['c', 'd']);
  });

  it('then by the fastest member', () => {
    const result = vote([c('a', 'one();', 1, 40), c('b', 'one();', 1, 300), c('c', 'two();', 1, 50), c('d', 'two();', 1, 60)]);
    expect(result?.text).toBe('one();');
    const swapped = vote([c('a', 'one();', 1, 70), c('b', 'one();', 1, 300), c('c', 'two();', 1, 50), c('d', 'two();', 1, 60)]);
    expect(swapped?.text).toBe('two();');
  });

  it('falls back to the medoid when everyone disagrees', () => {
    const texts = ['total += item.price;', 'total += item.price * 2;', 'total += item.cost;', 'count++;'];
    const result = vote(texts.map((t, i) => c(`m${i}`, t)));
    expect(result?.rule).toBe('medoid');
    expect(result?.text).toBe('total += item.price;');
    expect(result?.agreeing).toEqual(['m0']);
    const expected = (similarity(texts[0]!, texts[1]!) + similarity(texts[0]!, texts[2]!) + similarity(texts[0]!, texts[3]!)) / 3;
    expect(result?.score).toBeCloseTo(expected, 12);
  });

  it('breaks a medoid tie by weight, then by speed', () => {
    expect(vote([c('a', 'left()', 1, 10), c('b', 'right()', 2, 500)])?.text).toBe('right()');
    expect(vote([c('a', 'left()', 1, 80), c('b', 'right()', 1, 20)])?.text).toBe('right()');
    expect(vote([c('a', 'left()', 1, 20), c('b', 'right()', 1, 80)])?.text).toBe('left()');
  });

  it('counts each sample of one model as a voter but lists the model once', () => {
    const result = vote([c('m', 'a();'), c('m', 'b();'), c('m', 'a();'), c('n', 'b( );')]);
    // a();: two samples of m; b(); and b( ); differ (a space inside), so a(); wins.
    expect(result?.text).toBe('a();');
    expect(result?.agreeing).toEqual(['m']);
  });
});
