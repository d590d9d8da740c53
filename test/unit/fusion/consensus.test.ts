import { describe, expect, it } from 'vitest';
import { consensus } from '../../../server/engine/fusion/consensus.js';
import { similarity } from '../../../server/engine/fusion/similarity.js';
import type { FusionCandidate } from '../../../server/engine/fusion/types.js';
import { c } from './candidates.js';

/** Brackets balanced (no string handling needed for these cases). */
function balanced(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch) && --depth < 0) return false;
  }
  return depth === 0;
}

describe('consensus: agreement', () => {
  it('answers a whole candidate when its weighted agreement reaches the threshold', () => {
    const result = consensus([c('a', 'return user.name;'), c('b', 'throw new Error("no user");'), c('c', 'return user.name;')]);
    expect(result).toEqual({ text: 'return user.name;', method: 'consensus', rule: 'agreement', agreeing: ['a', 'c'], score: 2 / 3 });
  });

  it('counts near-identical candidates (similarity ≥ agreeThreshold) as agreeing', () => {
    const a = 'const result = await fetchData(url, options);';
    const b = 'const result = await fetchData(url, opts);';
    expect(similarity(a, b)).toBeGreaterThanOrEqual(0.9);
    const result = consensus([c('a', a, 1, 50), c('b', b, 1, 60), c('c', 'return null;', 1, 10)]);
    expect(result?.rule).toBe('agreement');
    expect(result?.text).toBe(a);
    expect(result?.agreeing).toEqual(['a', 'b']);
  });

  it('weighs the agreement: two light models agreeing are not enough against a heavy one', () => {
    const candidates = [c('a', 'return user.name;', 1), c('b', 'return user.name;', 1), c('heavy', 'return account.owner.displayName;', 2)];
    // Agreement 2/4 for the pair and 2/4 for the heavy one: nothing reaches 0.6. All three share `return`; after
    // it, neither side holds more than half of the weight.
    const result = consensus(candidates);
    expect(result?.rule).toBe('prefix');
    expect(result?.text).toBe('return');
  });

  it('answers a single candidate with itself and abstains with none', () => {
    expect(consensus([c('m', 'x();')])?.rule).toBe('single');
    expect(consensus([])).toBeNull();
  });
});

describe('consensus: shared prefix', () => {
  const A = 'const user = await getUser(id);\nif (!user) throw new NotFoundError(id);\nreturn user;';
  const B = 'const user = await getUser(id);\nreturn user?.profile ?? defaultProfile;';
  const C = 'const user = await fetchUser(id, { cache: false });';

  it('falls back to the longest prefix a weighted majority shares, ending at a line end', () => {
    expect(similarity(A, B)).toBeLessThan(0.9);
    const result = consensus([c('a', A), c('b', B), c('c', C)]);
    expect(result).toEqual({ text: 'const user = await getUser(id);', method: 'consensus', rule: 'prefix', agreeing: ['a', 'b'], score: 2 / 3 });
  });

  it('with a raised threshold, a majority that agrees on the whole text still gets it, as a prefix', () => {
    const x = 'x = 1;\ny = compute(a);';
    const y = 'x = 1;\ny = compute(a);';
    expect(consensus([c('a', x), c('b', y), c('c', 'z();')])?.rule).toBe('agreement');
    expect(consensus([c('a', x), c('b', y), c('c', 'z();')], { threshold: 0.7 })).toMatchObject({ rule: 'prefix', text: x });
  });

  it('prefers a line end to a longer partial line', () => {
    const result = consensus([c('a', 'x = 1;\ny = compute(alpha);'), c('b', 'x = 1;\ny = compute(beta, gamma);'), c('c', 'z();')]);
    expect(result?.text).toBe('x = 1;');
  });

  it('cuts at a token boundary, never inside an identifier', () => {
    const result = consensus([c('a', 'const totalPrice = sum(prices);'), c('b', 'const totalPrices = prices.reduce(add);'), c('c', 'let x = 0;')]);
    // Character-wise the pair shares "const totalPrice"; token-wise only "const".
    expect(result?.text).toBe('const');
  });

  it('ends after a complete token when the shared part has no line end', () => {
    const result = consensus([
      c('a', 'items.forEach((item) => {\n  render(item);\n});'),
      c('b', 'items.forEach((item) => console.log(item));'),
      c('c', 'items.map(String);'),
    ]);
    expect(result?.text).toBe('items.forEach((item) =>');
    expect(result?.agreeing).toEqual(['a', 'b']);
  });

  it('matches tokens whitespace-normalised and answers with the representative\'s formatting', () => {
    const result = consensus([
      c('b', 'if (ok)  {\n    run();\n    go();\n}', 1, 10),
      c('a', 'if (ok) {\n  run();\n  stop();\n}', 2, 50),
      c('c', 'while (busy) wait();', 1, 10),
    ]);
    expect(result?.rule).toBe('prefix');
    expect(result?.text).toBe('if (ok) {\n  run();');
    expect(result?.agreeing).toEqual(['b', 'a']);
    expect(result?.score).toBeCloseTo(3 / 4, 12);
  });

  it('needs a weighted majority of at least two candidates: a heavy candidate alone shares nothing', () => {
    const result = consensus([c('heavy', 'foo(a, b);', 2.9), c('b', 'foo(c);', 1), c('c', 'bar();', 1)]);
    // heavy alone holds 2.9 / 4.9 > 0.5 but has nobody to share with: heavy + b share "foo(".
    expect(result).toMatchObject({ rule: 'prefix', text: 'foo(', agreeing: ['heavy', 'b'] });
  });

  it('does not count a minority as a majority', () => {
    const result = consensus([c('a', 'foo(a, b);', 1), c('b', 'foo(c);', 1), c('c', 'bar();', 1.5), c('d', 'baz();', 1)]);
    // a + b hold 2 of 4.5: not more than half.
    expect(result).toBeNull();
  });

  it('abstains when everyone disagrees', () => {
    expect(consensus([c('a', 'foo();'), c('b', 'bar(1);'), c('c', 'baz = 2;')])).toBeNull();
  });

  it('abstains when the shared prefix is only punctuation', () => {
    expect(consensus([c('a', '(a) => a + 1'), c('b', '(b) => b * 2'), c('c', 'x')])).toBeNull();
  });

  it('checks the prefix with syntaxOk: a rejected prefix is not answered', () => {
    const seen: string[] = [];
    const candidates = [
      c('a', 'items.forEach((item) => {\n  render(item);\n});'),
      c('b', 'items.forEach((item) => console.log(item));'),
      c('c', 'items.map(String);'),
    ];
    const result = consensus(candidates, {
      syntaxOk: (text) => {
        seen.push(text);
        return balanced(text);
      },
    });
    expect(result).toBeNull();
    expect(seen).toEqual(['items.forEach((item) =>']);
    expect(consensus(candidates, { syntaxOk: () => true })?.text).toBe('items.forEach((item) =>');
  });

  it('tries a longer cut when syntaxOk rejects the preferred line end', () => {
    const candidates = [c('a', 'x = 1;\ny = compute(alpha);'), c('b', 'x = 1;\ny = compute(beta, gamma);'), c('c', 'z();')];
    const result = consensus(candidates, { syntaxOk: (text) => text !== 'x = 1;' });
    expect(result?.text).toBe('x = 1;\ny = compute(');
  });
});
