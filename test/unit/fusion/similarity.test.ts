import { describe, expect, it } from 'vitest';
import { normalize, similarity } from '../../../server/engine/fusion/similarity.js';
import { lex } from '../../../server/engine/fusion/tokens.js';

describe('normalize', () => {
  it('collapses runs of whitespace to one space and trims', () => {
    expect(normalize('  foo(a,\n\t  b)  \n')).toBe('foo(a, b)');
    expect(normalize('\n\n')).toBe('');
  });
});

describe('similarity', () => {
  it('is 1 - levenshtein / max length', () => {
    expect(similarity('kitten', 'sitting')).toBeCloseTo(1 - 3 / 7, 12);
    expect(similarity('abc', 'xyz')).toBe(0);
  });
  it('is 1 for two empty strings and for whitespace-only differences', () => {
    expect(similarity('', '')).toBe(1);
    expect(similarity(' \n', '')).toBe(1);
    expect(similarity('if (a) {\n  b();\n}', 'if (a) { b(); }')).toBe(1);
  });
  it('still tells text that differs only in whether whitespace is there', () => {
    expect(similarity('a+b', 'a + b')).toBeCloseTo(1 - 2 / 5, 12);
  });
});

describe('lex', () => {
  const texts = (source: string) => lex(source).tokens.map((t) => t.text);

  it('reassembles the original text from whitespace + token text + trailing whitespace', () => {
    const source = "\n  const a = `x${b + '}'}` + 'c\\'d' // note\n  /* block */ return 0x1F + 1.5e-3 + 10n;\n";
    const lexed = lex(source);
    expect(lexed.tokens.map((t) => t.ws + t.text).join('') + lexed.trailing).toBe(source);
    expect(lexed.trailing).toBe('\n');
  });
  it('keeps identifiers, numbers, strings and comments whole and operators together', () => {
    expect(texts("x?.y ?? z === 1.5e-3 // c")).toEqual(['x', '?.', 'y', '??', 'z', '===', '1.5e-3', '// c']);
    expect(texts('const f = (a) => `t${a}`;')).toEqual(['const', 'f', '=', '(', 'a', ')', '=>', '`t${a}`', ';']);
    expect(texts("s = 'it\\'s' + \"q\"")).toEqual(['s', '=', "'it\\'s'", '+', '"q"']);
    expect(texts('arr[0].length')).toEqual(['arr', '[', '0', ']', '.', 'length']);
    expect(texts('naïve_ü1 $x')).toEqual(['naïve_ü1', '$x']);
  });
  it('ends an unterminated string at the line break and never stalls', () => {
    expect(texts("a = 'open\nb")).toEqual(['a', '=', "'open", 'b']);
    expect(texts('`open ${x')).toEqual(['`open ${x']);
    expect(texts('/* open')).toEqual(['/* open']);
    expect(lex('   ').tokens).toEqual([]);
    expect(lex('   ').trailing).toBe('   ');
  });
  it('records the whitespace before each token', () => {
    expect(lex('a\n  b c').tokens.map((t) => t.ws)).toEqual(['', '\n  ', ' ']);
  });
});
