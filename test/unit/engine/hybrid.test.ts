import { describe, expect, it } from 'vitest';
import { hybridEarly, hybridFinal } from '../../../server/engine/fusion/hybrid.js';
import type { FusionCandidate } from '../../../server/engine/fusion/types.js';

const c = (model: string, text: string, extra: Partial<FusionCandidate> = {}): FusionCandidate => ({ model, text, weight: 1, latencyMs: 10, ...extra });

describe('HYBRID decisions', () => {
  it('waits while a single unconfident candidate has arrived', () => {
    expect(hybridEarly([c('a', 'a + b;', { meanLogprob: -1 })])).toBeNull();
    expect(hybridEarly([c('a', 'a + b;')])).toBeNull();
  });

  it('answers as soon as two candidates agree, ignoring formatting differences', () => {
    const result = hybridEarly([c('a', 'a + b;'), c('b', 'Math.max(a, b);'), c('c', 'a  +  b;')]);
    expect(result).toMatchObject({ text: 'a + b;', rule: 'agreement', agreeing: ['a', 'c'] });
  });

  it('prefers the heavier agreeing pair and takes its heavier member’s text', () => {
    const result = hybridEarly([
      c('a', 'x + y;'),
      c('b', 'x + y;'),
      c('h', 'Math.hypot(x, y);', { weight: 3 }),
      c('i', 'Math.hypot(x,y);', { weight: 1 }),
    ]);
    expect(result?.text).toBe('Math.hypot(x, y);');
  });

  it('trusts one confident candidate', () => {
    const result = hybridEarly([c('a', 'a + b;', { meanLogprob: Math.log(0.95) })]);
    expect(result).toMatchObject({ rule: 'confident', agreeing: ['a'] });
    expect(hybridEarly([c('a', 'a + b;', { meanLogprob: Math.log(0.95) })], { confidentProbability: 0.99 })).toBeNull();
  });

  it('finally takes WEIGHTED’s pick, or abstains when three or more all disagree', () => {
    expect(hybridFinal([])).toBeNull();
    expect(hybridFinal([c('a', 'a + b;')])?.text).toBe('a + b;');
    expect(hybridFinal([c('a', 'a + b;'), c('b', 'Math.max(a, b);')])).not.toBeNull();
    expect(hybridFinal([c('a', 'a + b;'), c('b', 'Math.max(a, b);'), c('c', 'throw new Error("no");')])).toBeNull();
    // Near-agreement keeps the pick: two of three are close.
    expect(hybridFinal([c('a', 'return a + b;'), c('b', 'return a + b + 0;'), c('c', 'throw new Error("no");')])?.text).toBe('return a + b;');
  });
});
