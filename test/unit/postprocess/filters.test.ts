import { describe, expect, it } from 'vitest';
import { blockIndent } from '../../../server/engine/postprocess/indentation-scope.js';
import { blockLoop, echoesPrefix, inLineLoop, tailRepetitions } from '../../../server/engine/postprocess/repetition.js';
import { removeLineSuffixOverlap } from '../../../server/engine/postprocess/suffix-overlap.js';
import type { FilterContext } from '../../../server/engine/postprocess/types.js';

function context(code: string): FilterContext {
  const at = code.indexOf('█');
  const prefix = code.slice(0, at);
  const suffix = code.slice(at + 1);
  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  return { prefix, suffix, linePrefix, lineSuffix: suffix.split('\n')[0]!, indent: /^\s*/.exec(linePrefix)![0], stopTokens: [] };
}

describe('repetition helpers', () => {
  it('finds a block repeated three times, or twice and begun again up to the end', () => {
    expect(blockLoop(['a();', 'a();', 'a();'])).toEqual({ at: 0, size: 1 });
    expect(blockLoop(['x();', 'a();', 'b();', 'a();', 'b();', 'a('])).toEqual({ at: 1, size: 2 });
    expect(blockLoop(['a();', 'a();'])).toBeNull();
    expect(blockLoop(['}', '}', '}'])).toBeNull();
    expect(blockLoop(['x1 = 1;', 'x2 = 2;', 'x3 = 3;'])).toBeNull();
  });

  it('measures a unit repeated at the end of a line', () => {
    expect(tailRepetitions('f(a, a, a, a, a, a')).toMatchObject({ count: 5 });
    expect(tailRepetitions('const n = 1000000000000;').count).toBeLessThan(2);
    expect(tailRepetitions('aaaaaaaaaaaaaaaaaaaaaaaa').count).toBe(0); // a bare word is a value
  });

  it('allows fewer repeats on the last line (cut off by the token limit) than on others', () => {
    const loop = 'x, '.repeat(7) + 'x';
    expect(inLineLoop(['first();', loop], 2)).toBe(1);
    expect(inLineLoop([loop, 'next();'], 2)).toBe(-1);
    expect(inLineLoop(['x, '.repeat(12) + 'x', 'next();'], 2)).toBe(0);
  });

  it('sees an echo of the lines above, with the cursor line when the answer starts a new line', () => {
    expect(echoesPrefix('\n  const total = sum(items);', context('  const total = sum(items);█\n'))).toBe(true);
    expect(echoesPrefix('const total = sum(items);', context('  const total = sum(items);\n  █\n'))).toBe(true);
    expect(echoesPrefix('const total = sum(other);', context('  const total = sum(items);\n  █\n'))).toBe(false);
  });
});

describe('indentation-scope block indentation', () => {
  it('reads the cursor line, or the lines around a blank one', () => {
    expect(blockIndent(context('function f() {\n  return █x;\n}'))).toBe(2);
    expect(blockIndent(context('function f() {█\n}'))).toBe(1);
    expect(blockIndent(context('function f() {\n█\n  return 1;\n}'))).toBe(1);
    expect(blockIndent(context('function f() {\n  a();\n█\n}'))).toBe(1);
    expect(blockIndent(context('function f() {\n  a();\n  █\n  b();\n}'))).toBe(2);
    expect(blockIndent(context('a();\n█\nb();'))).toBe(0);
  });
});

describe('line-suffix overlap', () => {
  it('removes only closers that close nothing the answer opened', () => {
    expect(removeLineSuffixOverlap('a, b)', context('f(█)'))).toBe('a, b');
    expect(removeLineSuffixOverlap('g(x)', context('f(█)'))).toBe('g(x)');
  });

  it('does not split a word of the rest of the line', () => {
    expect(removeLineSuffixOverlap('user.na', context('print(█name)'))).toBe('user.na');
    expect(removeLineSuffixOverlap('user.name', context('print(█name)'))).toBe('user.');
  });
});
