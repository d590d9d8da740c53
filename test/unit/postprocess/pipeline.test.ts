import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_FILTERS, postprocess, postprocessTraced } from '../../../server/engine/postprocess/pipeline.js';
import { stopTokens } from '../../../server/engine/postprocess/stop-tokens.js';
import { trim } from '../../../server/engine/postprocess/trim.js';
import type { FilterContext, NamedFilter } from '../../../server/engine/postprocess/types.js';

function context(code: string, extra: Partial<FilterContext> = {}): FilterContext {
  const at = code.indexOf('█');
  const prefix = code.slice(0, at);
  const suffix = code.slice(at + 1);
  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  const lineSuffix = suffix.split('\n')[0]!;
  return { prefix, suffix, linePrefix, lineSuffix, indent: /^\s*/.exec(linePrefix)![0], stopTokens: [], ...extra };
}

describe('pipeline', () => {
  it('runs the filters in the documented order', () => {
    expect(DEFAULT_FILTERS.map((f) => f.name)).toEqual([
      'stop-tokens',
      'repetition',
      'suffix-overlap',
      'indentation-scope',
      'bracket-balance',
      'syntax-check',
      'trim',
    ]);
  });

  it('gives no item for an empty or whitespace-only answer', () => {
    const ctx = context('const a = █;');
    expect(postprocess('', ctx)).toBeNull();
    expect(postprocess(' \n\t ', ctx)).toBeNull();
    expect(postprocessTraced('  ', ctx)).toEqual({ text: null, steps: [{ name: 'empty', before: '  ', after: null }] });
  });

  it('stops at the first filter that drops the candidate', () => {
    const later = vi.fn((text: string) => text);
    const filters: NamedFilter[] = [
      { name: 'upper', apply: (t) => t.toUpperCase() },
      { name: 'drop', apply: () => null },
      { name: 'later', apply: later },
    ];
    const trace = postprocessTraced('abc', context('█'), filters);
    expect(trace.text).toBeNull();
    expect(trace.steps).toEqual([
      { name: 'upper', before: 'abc', after: 'ABC' },
      { name: 'drop', before: 'ABC', after: null },
    ]);
    expect(later).not.toHaveBeenCalled();
    expect(postprocess('abc', context('█'), filters)).toBeNull();
  });

  it('treats a filter that leaves only whitespace as dropping the candidate', () => {
    const filters: NamedFilter[] = [{ name: 'blank', apply: () => '  \n' }];
    expect(postprocess('abc', context('█'), filters)).toBeNull();
    expect(postprocessTraced('abc', context('█'), filters).steps).toEqual([{ name: 'blank', before: 'abc', after: null }]);
  });

  it('reports only the steps that changed something', () => {
    const ctx = context('function f() {\n  █\n}', { stopTokens: ['<|endoftext|>'] });
    const trace = postprocessTraced('return 1;<|endoftext|>junk\n', ctx);
    expect(trace.text).toBe('return 1;');
    expect(trace.steps.map((s) => s.name)).toEqual(['stop-tokens']);
  });
});

describe('stop-tokens', () => {
  it('normalises CRLF and lone CR line breaks', () => {
    expect(stopTokens('a();\r\nb();\rc();', context('█'))).toBe('a();\nb();\nc();');
  });

  it('cuts at the earliest of the stop tokens and ignores empty ones', () => {
    const ctx = context('█', { stopTokens: ['', '<EOT>', '\n\n\n'] });
    expect(stopTokens('x = 1;\n\n\ny = 2;<EOT>', ctx)).toBe('x = 1;');
    expect(stopTokens('x = 1;<EOT>\n\n\n', ctx)).toBe('x = 1;');
  });
});

describe('trim', () => {
  it('drops trailing spaces when nothing follows on the cursor line', () => {
    expect(trim('return x;   \n  \n', context('  █\n}'))).toBe('return x;');
  });

  it('keeps a trailing space before code that follows on the cursor line', () => {
    expect(trim('a +  ', context('const x = █b;'))).toBe('a +  ');
  });

  it('keeps leading indentation when the cursor line is blank', () => {
    expect(trim('  return x;', context('function f() {\n█\n}'))).toBe('  return x;');
  });
});
