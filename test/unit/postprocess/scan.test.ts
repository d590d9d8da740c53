import { describe, expect, it } from 'vitest';
import { Lexer, Mode, Tok, looseBrackets, stateAfter, CODE_STATE } from '../../../server/engine/postprocess/scan.js';

function tokens(text: string): string[] {
  const lexer = new Lexer(text);
  const out: string[] = [];
  let guard = 0;
  while (lexer.next() !== Tok.End) {
    out.push(text.slice(lexer.start, lexer.end));
    if (++guard > 10_000) throw new Error('lexer does not advance');
  }
  return out;
}

describe('lexer', () => {
  it('splits words, punctuation and literals', () => {
    expect(tokens("const a = foo('x)', \"y]\", `z${b}}`);")).toEqual([
      'const', 'a', '=', 'foo', '(', "'x)'", ',', '"y]"', ',', '`z${', 'b', '}}`', ')', ';',
    ]);
  });

  it('skips comments and regular expressions', () => {
    expect(tokens('a(/[)]+/g, b) // )\n/* ( */ c')).toEqual(['a', '(', '/[)]+/g', ',', 'b', ')', 'c']);
    expect(tokens('x = a / b / c')).toEqual(['x', '=', 'a', '/', 'b', '/', 'c']);
  });

  it('ends at the end of the text inside any literal', () => {
    for (const text of ["'abc", '"abc', '`abc', '`a${b', '/* abc', '// abc', "'", '`']) {
      expect(() => tokens(text)).not.toThrow();
    }
    expect(stateAfter("foo('ab").mode).toBe(Mode.Single);
    expect(stateAfter('x = `a ${b').templates.length).toBe(1);
    expect(stateAfter('/* a').mode).toBe(Mode.BlockComment);
    expect(stateAfter("'a'").mode).toBe(Mode.Code);
  });

  it('resumes from a state', () => {
    const state = stateAfter("foo('ab");
    const lexer = new Lexer("c')", 0, 3, state);
    const out: string[] = [];
    while (lexer.next() !== Tok.End) out.push("c')".slice(lexer.start, lexer.end));
    expect(out).toEqual(["c'", ')']);
  });

  it('an unterminated quote ends at the line break', () => {
    expect(tokens("a = 'it\nb(c)")).toEqual(['a', '=', "'it", 'b', '(', 'c', ')']);
  });
});

describe('looseBrackets', () => {
  it('reports loose closers and open openers, ignoring literals', () => {
    const b = looseBrackets("a, ')', b) + c]");
    expect(b.closers.map((x) => String.fromCharCode(x.ch))).toEqual([')', ']']);
    expect(b.openers).toEqual([]);
    const o = looseBrackets('f(a, [b, {c');
    expect(o.openers.map((x) => String.fromCharCode(x.ch))).toEqual(['(', '[', '{']);
  });

  it('pairs a closer with the nearest opener of its kind', () => {
    const b = looseBrackets('f(a, [b)');
    expect(b.closers).toEqual([]);
    expect(b.openers).toEqual([]);
    expect(looseBrackets('a}', CODE_STATE).closers.length).toBe(1);
  });
});
