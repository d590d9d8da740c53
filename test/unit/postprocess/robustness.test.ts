import { describe, expect, it } from 'vitest';
import { languageByName } from '../../../server/documents/syntax.js';
import { DEFAULT_FILTERS, postprocess } from '../../../server/engine/postprocess/pipeline.js';
import type { FilterContext } from '../../../server/engine/postprocess/types.js';

const PIECES = [
  'function f(a, b) {', '}', '{', '(', ')', '[', ']', 'return a + b;', 'const x = ', "'it''s'", '"a\\"b"', '`t ${x} `',
  '`${', '/* c */', '// c', '/re[g]ex/g', 'if (x) ', 'else ', '\n', '\n  ', '\n    ', '\t', '  ', 'x', '😀', '你好',
  '<|endoftext|>', '<div>', '</div>', 'a, a, a, a, a, a, a, a, a, a', '=>', ';', ',', ':', 'class A {', 'case 1:',
  '\r\n', 'é', '\\', '$', '#', '/*', '*/', '"', "'", '`',
];

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

function randomText(rand: () => number, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(rand() * PIECES.length)]!;
  return out;
}

describe('robustness', () => {
  it('never throws, and only ever takes text away', () => {
    const rand = rng(7);
    const languages = [languageByName('typescript'), languageByName('javascript'), languageByName('tsx'), undefined];
    for (let i = 0; i < 300; i++) {
      const prefix = randomText(rand, Math.floor(rand() * 40));
      const suffix = randomText(rand, Math.floor(rand() * 40));
      const answer = randomText(rand, 1 + Math.floor(rand() * 15));
      const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
      const context: FilterContext = {
        prefix,
        suffix,
        linePrefix,
        lineSuffix: suffix.split('\n')[0]!,
        indent: /^\s*/.exec(linePrefix)![0],
        stopTokens: ['<|endoftext|>'],
        syntax: languages[i % languages.length],
      };
      let out: string | null = null;
      expect(() => (out = postprocess(answer, context)), JSON.stringify({ prefix, suffix, answer })).not.toThrow();
      if (out !== null) {
        const text: string = out;
        expect(text.trim()).not.toBe('');
        expect(text).not.toContain('<|endoftext|>');
        expect(answer.replace(/\r\n?/g, '\n')).toContain(text.trim());
      }
      for (const filter of DEFAULT_FILTERS) expect(() => filter.apply(answer, context)).not.toThrow();
    }
  });

  it('copes with empty windows and long answers', () => {
    const empty: FilterContext = { prefix: '', suffix: '', linePrefix: '', lineSuffix: '', indent: '', stopTokens: [], syntax: languageByName('typescript') };
    expect(postprocess('const a = 1;', empty)).toBe('const a = 1;');
    const long = 'const a = 1;\n'.repeat(2000) + 'const b = 2;';
    expect(() => postprocess(long, empty)).not.toThrow();
  });
});
