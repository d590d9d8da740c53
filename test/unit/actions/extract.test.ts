import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { languageByName } from '../../../server/documents/syntax.js';
import {
  extractCode,
  extractDocComment,
  extractMarkdown,
  stripThinking,
} from '../../../server/engine/actions/extract.js';
import { loadCases } from './golden.js';

const CASES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'cases');
const cases = loadCases(CASES_DIR);
const ts = languageByName('typescript')!;
const js = languageByName('javascript')!;

describe('golden extraction cases', () => {
  for (const c of cases) {
    describe(c.name, () => {
      const where = `${c.file}\n${c.description}`;
      if (c.code !== undefined) {
        it(`extractCode (${c.language ? 'grammar' : 'heuristics'})`, () => {
          expect(extractCode(c.answer, { language: c.language, languageId: c.languageId }), where).toEqual(c.code ?? undefined);
        });
      }
      if (c.heuristicCode !== undefined) {
        it('extractCode (heuristics)', () => {
          expect(extractCode(c.answer, { languageId: c.languageId }), where).toEqual(c.heuristicCode ?? undefined);
        });
      }
      if (c.doc !== undefined) {
        it('extractDocComment', () => {
          expect(extractDocComment(c.answer, { languageId: c.languageId }), where).toBe(c.doc ?? undefined);
        });
      }
      if (c.markdown !== undefined) {
        it('extractMarkdown', () => {
          expect(extractMarkdown(c.answer), where).toBe(c.markdown);
        });
      }
      if (c.thinking !== undefined) {
        it('stripThinking', () => {
          expect(stripThinking(c.answer), where).toBe(c.thinking);
        });
      }
    });
  }

  it('covers fences, bare code with and without a grammar, no code, doc comments, markdown and thinking', () => {
    expect(cases.filter((c) => c.code?.source === 'fence').length).toBeGreaterThanOrEqual(10);
    expect(cases.filter((c) => c.code?.source === 'bare' && c.language).length).toBeGreaterThanOrEqual(5);
    expect(cases.filter((c) => c.heuristicCode?.source === 'bare').length).toBeGreaterThanOrEqual(5);
    expect(cases.some((c) => c.code === null) && cases.some((c) => c.heuristicCode === null)).toBe(true);
    expect(cases.filter((c) => typeof c.doc === 'string').length).toBeGreaterThanOrEqual(8);
    expect(cases.some((c) => c.doc === null)).toBe(true);
    expect(cases.filter((c) => c.markdown !== undefined).length).toBeGreaterThanOrEqual(3);
    expect(cases.filter((c) => c.thinking !== undefined).length).toBeGreaterThanOrEqual(4);
    const languages = new Set(cases.map((c) => c.languageId));
    for (const id of ['typescript', 'javascript', 'typescriptreact', 'python']) expect(languages).toContain(id);
  });
});

describe('stripThinking', () => {
  it('leaves an answer without reasoning exactly as it is', () => {
    const answer = '\n  return a + b;  \n\n';
    expect(stripThinking(answer)).toBe(answer);
  });

  it('removes several blocks and keeps what lies between them', () => {
    expect(stripThinking('<think>a</think>\nfirst\n<think>\nb\n</think>\nsecond')).toBe('first\n\nsecond');
  });

  it('handles CRLF around the closing tag of a block the template opened', () => {
    expect(stripThinking('reasoning\r\n</think>\r\n\r\nanswer\r\n')).toBe('answer');
  });

  it('keeps the code indentation of the first line after a block', () => {
    expect(stripThinking('<think>x</think>\n\n    return 1;')).toBe('    return 1;');
  });
});

describe('extractCode', () => {
  it('reads CRLF answers and gives \\n line breaks', () => {
    const answer = 'Here is the fix:\r\n\r\n```ts\r\nif (a) {\r\n  b();\r\n}\r\n```\r\n';
    expect(extractCode(answer, { language: ts, languageId: 'typescript' })).toEqual({
      code: 'if (a) {\n  b();\n}',
      source: 'fence',
    });
  });

  it('reads bare CRLF answers with the parser', () => {
    const answer = "Here's the fixed version:\r\nconst x = compute();\r\n\r\nThis change caches the value.\r\n";
    expect(extractCode(answer, { language: js, languageId: 'javascript' })).toEqual({ code: 'const x = compute();', source: 'bare' });
  });

  it('keeps tabs inside the code', () => {
    const answer = '```js\nfunction f() {\n\tif (x) {\n\t\treturn 1;\n\t}\n}\n```';
    expect(extractCode(answer, { languageId: 'javascript' })?.code).toBe('function f() {\n\tif (x) {\n\t\treturn 1;\n\t}\n}');
  });

  it('prefers, among blocks of the same tag, the longest', () => {
    const answer = 'Usage:\n```ts\nf(1);\n```\nImplementation:\n```ts\nfunction f(n: number) {\n  return n;\n}\n```\n';
    expect(extractCode(answer, { languageId: 'typescript' })?.code).toBe('function f(n: number) {\n  return n;\n}');
  });

  it('prefers an untagged block to one in another language, and takes the other language when nothing else is there', () => {
    const two = '```python\nprint("a much longer line of python")\n```\n\n```\nconsole.log(1);\n```';
    expect(extractCode(two, { languageId: 'javascript' })?.code).toBe('console.log(1);');
    const only = 'Run it with:\n\n```bash\nnode index.js\n```';
    expect(extractCode(only, { languageId: 'javascript' })).toEqual({ code: 'node index.js', source: 'fence' });
  });

  it('skips empty blocks', () => {
    expect(extractCode('```ts\n\n```\n\n```\nconst a = 1;\n```', { languageId: 'typescript' })?.code).toBe('const a = 1;');
    expect(extractCode('```ts\n```', { languageId: 'typescript' })).toBeUndefined();
  });

  it('gives nothing for an empty or thinking-only answer', () => {
    expect(extractCode('', { languageId: 'typescript' })).toBeUndefined();
    expect(extractCode('<think>\nhmm, maybe `x = 1`\n', { language: ts, languageId: 'typescript' })).toBeUndefined();
    expect(extractCode('Done.', { language: ts, languageId: 'typescript' })).toBeUndefined();
  });

  it('keeps a leading comment and a trailing code line that reads like words', () => {
    const answer = '// Sum the prices.\nlet total = 0\nfor (const p of prices) total += p\nexport default total';
    expect(extractCode(answer, { language: ts, languageId: 'typescript' })?.code).toBe(answer);
    expect(extractCode(answer, { languageId: 'typescript' })?.code).toBe(answer);
  });

  it('keeps the code indentation of a bare answer (re-indenting is not its job)', () => {
    const answer = 'Here is the body:\n\n    const x = 1;\n    return x;\n';
    expect(extractCode(answer, { language: ts, languageId: 'typescript' })?.code).toBe('    const x = 1;\n    return x;');
  });
});

describe('extractDocComment', () => {
  it('reads CRLF answers', () => {
    expect(extractDocComment('```ts\r\n/**\r\n * Adds.\r\n */\r\nfunction add() {}\r\n```', { languageId: 'typescript' })).toBe(
      '/**\n * Adds.\n */',
    );
  });

  it('cuts the code after a one-line comment on the same line', () => {
    expect(extractDocComment('/** Adds. */ function add(a, b) { return a + b; }', { languageId: 'javascript' })).toBe('/** Adds. */');
  });

  it("does not take '#' for a comment in TypeScript, nor '//' in Python", () => {
    expect(extractDocComment('# Adds two numbers\nfunction add() {}', { languageId: 'typescript' })).toBeUndefined();
    expect(extractDocComment('// Adds two numbers\ndef add(a, b):\n    return a + b', { languageId: 'python' })).toBeUndefined();
    expect(extractDocComment('# Adds two numbers\ndef add(a, b):\n    return a + b', { languageId: 'python' })).toBe('# Adds two numbers');
  });

  it('reads a tab-indented comment and removes the tabs', () => {
    expect(extractDocComment('\t/**\n\t * Adds.\n\t */\n\tadd() {}', { languageId: 'typescript' })).toBe('/**\n * Adds.\n */');
  });

  it('gives nothing for prose only', () => {
    expect(extractDocComment('This function adds two numbers.', { languageId: 'typescript' })).toBeUndefined();
  });
});

describe('extractMarkdown', () => {
  it('trims and normalises line breaks', () => {
    expect(extractMarkdown('\r\n  It **adds** the numbers.\r\nThat is all.\r\n\r\n')).toBe('It **adds** the numbers.\nThat is all.');
  });

  it('does not unwrap a block in another language that spans the answer', () => {
    expect(extractMarkdown('```ts\nconst a = 1;\n```')).toBe('```ts\nconst a = 1;\n```');
  });

  it('does not unwrap two markdown blocks as one', () => {
    const answer = '```markdown\n# A\n```\n```markdown\n# B\n```';
    expect(extractMarkdown(answer)).toBe(answer);
  });
});
